// Load generators: wrk (Debian `wrk`, C, one thread) when on PATH, else autocannon (a Node
// process, already a devDependency). The soak needs a fixed rate (wrk has none) and its own
// X-Forwarded-For per request (the autocannon CLI sends fixed headers): it uses xff-client.mjs, autocannon's
// programmatic API with overallRate, through `xffLoad`. Every run is a child process, bounded
// in time.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, stop } from './processes.mjs';

const require = createRequire(import.meta.url);

/** wrk's `done` hook: one JSON line with the totals and latency percentiles (µs). */
const WRK_DONE_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d,"p999":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`;

/** Which generator to use: wrk when installed, else autocannon; `BENCH_LOAD=autocannon` forces it. */
export function detectLoadGenerator() {
  if (process.env.BENCH_LOAD === 'autocannon')
    return { name: 'autocannon', version: autocannonVersion(), forced: true };
  // `wrk -v` prints its version and usage, and exits 1.
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8', timeout: 5000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (!r.error && /^wrk /.test(out)) return { name: 'wrk', version: firstLine(out).replace(/\s+Copyright.*$/, '') };
  return { name: 'autocannon', version: autocannonVersion() };
}

function firstLine(text) {
  return text.trim().split('\n')[0].trim();
}

function autocannonVersion() {
  return `autocannon ${require('autocannon/package.json').version}`;
}

function autocannonBin() {
  return join(require.resolve('autocannon/package.json'), '..', 'autocannon.js');
}

/**
 * A closed-loop run at full load: `connections` connections, one thread, `seconds` long.
 * @returns {{rps, requests, p50Ms, p99Ms, p999Ms, maxMs, non2xx, socketErrors, errors}}
 */
export async function blast(generator, { url, headers = {}, seconds, connections = 50, timeoutS = 5, workDir }) {
  if (generator.name === 'wrk') return wrk({ url, headers, seconds, connections, timeoutS, workDir });
  return autocannon({ url, headers, seconds, connections, timeoutS });
}

async function wrk({ url, headers, seconds, connections, timeoutS, workDir }) {
  const script = join(workDir, 'wrk-done.lua');
  writeFileSync(script, WRK_DONE_LUA);
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${Math.max(1, Math.round(seconds))}s`,
    `--timeout`,
    `${timeoutS}s`,
    '-s',
    script,
  ];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const out = await runBounded('wrk', 'wrk', args, seconds + timeoutS + 10);
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk gave no result:\n${out}`);
  const r = JSON.parse(line.slice('BENCH_JSON '.length));
  const socketErrors = r.connect + r.read + r.write + r.timeout;
  return {
    rps: r.requests / (r.durationUs / 1e6),
    requests: r.requests,
    p50Ms: r.p50 / 1000,
    p99Ms: r.p99 / 1000,
    p999Ms: r.p999 / 1000,
    maxMs: r.max / 1000,
    non2xx: r.status,
    socketErrors,
    errors: r.status + socketErrors,
  };
}

async function autocannon({ url, headers, seconds, connections, timeoutS }) {
  const args = [autocannonBin(), '-c', String(connections), '-d', String(Math.max(1, Math.round(seconds)))];
  args.push('-t', String(timeoutS), '-j', '-n');
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  const out = await runBounded('autocannon', process.execPath, args, seconds + timeoutS + 15);
  const start = out.indexOf('{');
  if (start === -1) throw new Error(`autocannon gave no result:\n${out}`);
  const r = JSON.parse(out.slice(start, out.lastIndexOf('}') + 1));
  const socketErrors = r.errors; // includes timeouts
  return {
    rps: r.requests.total / r.duration,
    requests: r.requests.total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    p999Ms: r.latency.p99_9,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    socketErrors,
    errors: r.non2xx + socketErrors,
  };
}

/**
 * A run with its own `X-Forwarded-For` per request, from `ipSpace` addresses starting at
 * `ipStart` (see xff-client.mjs): fixed-rate when `rate` is set, else full load; bounded by
 * `amount` requests and/or `seconds` (`maxS`: a time bound on an `amount` run).
 * @returns {{rps, requests, p50Ms, p99Ms, p999Ms, maxMs, non2xx, socketErrors, errors, sent, statuses,
 *   client5xx, upstream5xx, gateway5xx, gatewayCodes}}
 */
export async function xffLoad({
  url,
  headers = {},
  seconds = null,
  amount = null,
  maxS = null,
  rate = null,
  connections = 50,
  timeoutS = 20,
  ipStart,
  ipSpace,
}) {
  const script = fileURLToPath(new URL('./xff-client.mjs', import.meta.url));
  const opts = { url, headers, seconds, amount, maxS, rate, connections, timeoutS, ipStart, ipSpace };
  const limitS = (amount ? (maxS ?? 300) : seconds) + timeoutS + 15;
  const out = await runBounded('xff-client', process.execPath, [script, JSON.stringify(opts)], limitS);
  const line = out.split('\n').find((l) => l.startsWith('XFF_JSON '));
  if (!line) throw new Error(`xff-client gave no result:\n${out}`);
  const r = JSON.parse(line.slice('XFF_JSON '.length));
  return {
    rps: r.requests / r.duration,
    requests: r.requests,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    p999Ms: r.latency.p99_9,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    socketErrors: r.errors,
    errors: r.non2xx + r.errors,
    sent: r.sent,
    statuses: r.statuses,
    client5xx: r['5xx'],
    upstream5xx: r.upstream5xx,
    gateway5xx: r.gateway5xx,
    gatewayCodes: r.gatewayCodes,
  };
}

/** Runs a load generator as a child, killed if it overruns `limitS`; resolves with its stdout. */
async function runBounded(name, command, args, limitS) {
  const proc = start(name, command, args);
  let out = '';
  proc.child.stdout.on('data', (c) => (out += c));
  const timer = setTimeout(() => void stop(proc, 1000), limitS * 1000);
  const exit = await proc.exitedPromise;
  clearTimeout(timer);
  if (exit.code !== 0 && !out.includes('{')) {
    throw new Error(`${name} failed (${JSON.stringify(exit)}): ${proc.output.trim()}`);
  }
  return out;
}
