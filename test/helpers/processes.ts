import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { constants } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json and dist/ are). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One captured output line. */
export interface OutputLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

/** Options of {@link ManagedProcess}. */
export interface ManagedProcessOptions {
  /** Shown in errors. @default the command's base name */
  name?: string;
  /** The child's whole environment. @default baseEnv() (the test runner's env is not inherited) */
  env?: NodeJS.ProcessEnv;
  /** @default REPO_ROOT */
  cwd?: string;
  /** Lines kept in memory; older ones are dropped (see `droppedLines`). @default 100000 */
  maxLines?: number;
}

/**
 * The environment a child starts from: only PATH, HOME, TMPDIR, locale and time zone of the test runner.
 * Nothing else leaks in, so a developer's `REDIS_URL`, `PORT` or `FLAKY_*` cannot change a test.
 *
 * @param extra variables to add (an `undefined` value removes the variable)
 */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ']) {
    if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

const live = new Set<ManagedProcess>();
const cleanups: Array<() => unknown> = [];

/**
 * A child process under test: its output captured line by line, stoppable with a deadline, registered so
 * that {@link stopAll} (run automatically after each test file) leaves nothing behind.
 *
 * @example
 * const p = new ManagedProcess(process.execPath, ['server.js'], { env: baseEnv({ PORT: '9000' }) });
 * await p.waitForLine(/listening/, 2000);
 * expect(await p.stop()).toBe(0);
 */
export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited and its output is fully read: the exit code, or 128 + signal number. */
  readonly exited: Promise<number>;
  /** Lines dropped from the front because of `maxLines`. */
  droppedLines = 0;
  private readonly captured: OutputLine[] = [];
  private readonly listeners = new Set<(line: OutputLine) => void>();
  private readonly maxLines: number;
  private code: number | undefined;
  private paused = false;

  constructor(command: string, args: readonly string[], options: ManagedProcessOptions = {}) {
    this.name = options.name ?? command.split('/').pop() ?? command;
    this.maxLines = options.maxLines ?? 100_000;
    this.child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? baseEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    this.capture('stdout');
    this.capture('stderr');
    this.exited = new Promise<number>((resolveExit) => {
      this.child.once('error', (err) => {
        this.push({ stream: 'stderr', line: `spawn failed: ${err.message}` });
        this.code = 127;
        live.delete(this);
        resolveExit(127);
      });
      // 'close' (not 'exit'): every output line has been read by then.
      this.child.once('close', (code, signal) => {
        this.code = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
        live.delete(this);
        resolveExit(this.code);
      });
    });
  }

  /** The process id (undefined when spawning failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process has not exited yet. */
  get running(): boolean {
    return this.code === undefined;
  }

  /** The exit code once exited (128 + signal number when killed by a signal), else `undefined`. */
  get exitCode(): number | undefined {
    return this.code;
  }

  /** All captured lines of stdout and stderr, in arrival order, joined with newlines. */
  output(): string {
    return this.captured.map((l) => l.line).join('\n');
  }

  /** Captured lines, of one stream or both. */
  lines(stream?: 'stdout' | 'stderr'): string[] {
    return this.captured.filter((l) => stream === undefined || l.stream === stream).map((l) => l.line);
  }

  /**
   * Resolves with the first line (already captured or to come) matching `pattern`.
   *
   * @throws when `timeoutMs` passes or the process exits first; the message carries the recent output
   * @default timeoutMs 5000
   */
  waitForLine(pattern: RegExp, timeoutMs = 5000, stream?: 'stdout' | 'stderr'): Promise<string> {
    const matches = (l: OutputLine): boolean => (stream === undefined || l.stream === stream) && pattern.test(l.line);
    const found = this.captured.find(matches);
    if (found) return Promise.resolve(found.line);
    return new Promise<string>((resolveLine, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
      };
      const onLine = (l: OutputLine): void => {
        if (!matches(l)) return;
        done();
        resolveLine(l.line);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.listeners.add(onLine);
      void this.exited.then((code) => {
        if (!this.listeners.has(onLine)) return;
        done();
        reject(new Error(`${this.name} exited (${code}) before a line matched ${pattern}\n${this.tail()}`));
      });
    });
  }

  /** Sends a signal (no-op once exited). A stopped (paused) process also gets SIGCONT so it can act on it. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    this.child.kill(signal);
    if (this.paused && signal !== 'SIGSTOP' && signal !== 'SIGCONT') this.resume();
  }

  /**
   * Asks the process to stop and resolves its exit code; sends SIGKILL if it is still running after `timeoutMs`.
   *
   * @default signal 'SIGTERM', timeoutMs 5000
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<number> {
    if (!this.running) return this.exited;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: no chance to clean up (a crash). Resolves the exit code (137). */
  kill(): Promise<number> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGSTOP: the process freezes with its sockets open (a hung Redis, a stalled upstream). */
  pause(): void {
    if (!this.running) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    if (!this.running) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  /** The last lines of output, for error messages. */
  tail(lines = 30): string {
    return this.captured
      .slice(-lines)
      .map((l) => `  [${this.name} ${l.stream}] ${l.line}`)
      .join('\n');
  }

  private capture(streamName: 'stdout' | 'stderr'): void {
    const stream = this.child[streamName];
    if (!stream) return;
    stream.setEncoding('utf8');
    let partial = '';
    stream.on('data', (data: string) => {
      const parts = (partial + data).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) this.push({ stream: streamName, line: part.endsWith('\r') ? part.slice(0, -1) : part });
    });
    stream.on('end', () => {
      if (partial !== '') this.push({ stream: streamName, line: partial });
      partial = '';
    });
  }

  private push(line: OutputLine): void {
    this.captured.push(line);
    if (this.captured.length > this.maxLines + 1000) {
      const drop = this.captured.length - this.maxLines;
      this.captured.splice(0, drop);
      this.droppedLines += drop;
    }
    for (const listener of this.listeners) listener(line);
  }
}

/**
 * Registers work for {@link stopAll} to do after the processes are stopped (temp dirs, clients). Runs last-in first-out.
 */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** The processes started by this test file that are still running. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

/**
 * Stops every process still running (SIGTERM, SIGKILL after `timeoutMs`), then runs the {@link onCleanup}
 * callbacks. Registered as an `afterAll` hook automatically when this module is loaded under Jest; calling it
 * again is harmless.
 *
 * @default timeoutMs 5000
 */
export async function stopAll(timeoutMs = 5000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('SIGTERM', timeoutMs)));
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()?.();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'stopAll: cleanup failed');
}

if (typeof afterAll === 'function') afterAll(() => stopAll(), 30_000);

/**
 * Resolves once a TCP connection to host:port succeeds, polling every 20 ms.
 *
 * @param options.process fail fast (with its output) if this process exits while waiting
 * @throws after `timeoutMs`
 * @default host '127.0.0.1', timeoutMs 5000
 */
export async function waitForPort(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 5000,
  options: { process?: ManagedProcess } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(port, host)) return;
    const p = options.process;
    if (p && !p.running) throw new Error(`${p.name} exited (${p.exitCode}) before ${host}:${port} opened\n${p.tail()}`);
    if (Date.now() >= deadline) {
      throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms${p ? `\n${p.tail()}` : ''}`);
    }
    await sleep(20);
  }
}

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolveConnect(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The absolute path of a build output, e.g. `dist/apps/gateway/main.js`.
 *
 * @throws with the command to run when it has not been built
 */
export function builtFile(relative: string): string {
  const path = resolve(REPO_ROOT, relative);
  if (!existsSync(path)) throw new Error(`${relative} is missing: run \`npm run build\` first (npm test does it)`);
  return path;
}
