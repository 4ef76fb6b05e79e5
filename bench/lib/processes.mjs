// Child processes of the bench: started on loopback, tracked, and always stopped (normal end,
// error, Ctrl-C). Also free ports, readiness probes and /proc readings (RSS, open fds).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set();

/* Children get a minimal environment plus what the bench sets: a REDIS_URL or API_KEYS in the
 * caller's shell must not change what is measured. */
const BASE_ENV = Object.fromEntries(
  ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]),
);

/**
 * Starts a child process. `logFile`: stdout and stderr go to that file (the gateway's pino
 * lines are really written); otherwise they are kept in memory (last 8 KiB) for error messages.
 */
export function start(name, command, args, { env = {}, logFile = null, cwd = process.cwd() } = {}) {
  let fd = null;
  let stdio = ['ignore', 'pipe', 'pipe'];
  if (logFile) {
    fd = openSync(logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const child = spawn(command, args, { cwd, env: { ...BASE_ENV, ...env }, stdio });
  if (fd !== null) closeSync(fd);
  const proc = { name, child, pid: child.pid, output: '', exited: null, logFile };
  const keep = (chunk) => {
    proc.output = (proc.output + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  proc.exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      proc.exited = { code, signal };
      running.delete(proc);
      resolve(proc.exited);
    });
    child.once('error', (err) => {
      proc.exited = { code: null, signal: null, error: err.message };
      running.delete(proc);
      resolve(proc.exited);
    });
  });
  running.add(proc);
  return proc;
}

/** Stops one process: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited. */
export async function stop(proc, graceMs = 5000) {
  if (!proc || proc.exited) return proc?.exited ?? null;
  try {
    proc.child.kill('SIGTERM');
  } catch {
    /* already gone */
  }
  const timer = setTimeout(() => {
    try {
      proc.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }, graceMs);
  const result = await proc.exitedPromise;
  clearTimeout(timer);
  return result;
}

/** Stops every process still running (in parallel). */
export async function stopAll(graceMs = 5000) {
  await Promise.all([...running].map((p) => stop(p, graceMs)));
}

/** Last resort from a synchronous `exit` handler: SIGKILL whatever is left. */
export function killAllNow() {
  for (const p of running) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** `n` distinct free loopback ports (held open together while picking, so they differ). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/**
 * Polls `url` until it answers with an expected status, the process exits, or `timeoutMs` passes.
 * @throws when the process died or never became ready (with its last output).
 */
export async function waitReady(proc, url, { timeoutMs = 30000, headers = {}, ok = (s) => s === 200 } = {}) {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (proc.exited) break;
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (ok(res.status)) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(100);
  }
  const why = proc.exited ? `exited (${JSON.stringify(proc.exited)})` : `not ready after ${timeoutMs} ms (${last})`;
  const output = proc.logFile ? tail(proc.logFile) : proc.output;
  throw new Error(`${proc.name} ${why}\n--- last output ---\n${output.trim()}`);
}

/** The last `bytes` of a file, or '' when it cannot be read. */
export function tail(file, bytes = 4096) {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

/** Waits until a Redis server at `port` answers PING. */
export async function waitRedis(proc, port, timeoutMs = 10000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !proc.exited) {
    const pong = await new Promise((resolve) => {
      const sock = connect(port, '127.0.0.1');
      const done = (ok) => {
        sock.destroy();
        resolve(ok);
      };
      sock.setTimeout(1000, () => done(false));
      sock.once('error', () => done(false));
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
    });
    if (pong) return;
    await sleep(100);
  }
  throw new Error(
    `redis-server on ${port} not ready: ${proc.exited ? JSON.stringify(proc.exited) : 'no PONG'}\n${proc.output}`,
  );
}

/** Resident set size of `pid` in bytes (VmRSS), or null. */
export function rssBytes(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

let clockTicks = null;
/** CPU time (user + system) `pid` has used so far, in µs, or null. */
export function cpuMicros(pid) {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1e6;
  } catch {
    return null;
  }
}

/** Number of open file descriptors of `pid`, or null. */
export function openFds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}
