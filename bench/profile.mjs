// `node bench/profile.mjs [seconds]`: where the gateway's CPU goes. Runs the "Breakwater, memory
// store" row and the "Nest + undici proxy" row once more, each process under `node --cpu-prof`,
// and prints self time by area and by function for the measured window only (start-up and
// warm-up left out), plus CPU µs per request by area side by side: what the policies cost on
// top of a bare Nest controller forwarding with undici. Profiles are kept as
// bench/results/<name>.cpuprofile.json (git-ignored; load them in Chrome DevTools' Performance
// panel). Run after `npm run build`.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_KEYS, AUTH_HEADERS, routesFile } from './lib/gateway.mjs';
import { blast, detectLoadGenerator } from './lib/load.mjs';
import { cpuMicros, freePorts, killAllNow, start, stop, stopAll, waitReady } from './lib/processes.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.argv[2] ?? 10);
const WARM_S = 3;

const EXPRESS = new Set([
  'express',
  'router',
  'finalhandler',
  'send',
  'path-to-regexp',
  'qs',
  'body-parser',
  'type-is',
  'content-type',
  'parseurl',
  'on-finished',
  'proxy-addr',
  'forwarded',
  'ipaddr.js',
  'mime-types',
  'depd',
  'debug',
]);
const PINO = new Set([
  'pino',
  'sonic-boom',
  'fast-redact',
  '@pinojs/redact',
  'pino-std-serializers',
  'quick-format-unescaped',
  'atomic-sleep',
  'thread-stream',
  'safe-stable-stringify',
]);

/** Which part of the stack a profile node belongs to, from its script URL. */
export function area(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    return 'V8/native (syscalls, builtins)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) {
    if (pkg.startsWith('@nestjs/')) return 'Nest (router, guards, interceptors, pipes)';
    if (pkg === 'rxjs') return 'rxjs (Nest interceptors)';
    if (EXPRESS.has(pkg)) return 'Express';
    if (pkg === 'undici') return 'undici';
    if (PINO.has(pkg)) return 'pino';
    if (['prom-client', 'tdigest', 'bintrees', '@willsoto/nestjs-prometheus'].includes(pkg)) return 'prom-client';
    if (pkg === 'opossum') return 'opossum';
    if (pkg === 'ioredis') return 'ioredis';
    return `other packages`;
  }
  if (url.includes('/dist/apps/gateway/')) return 'our code (dist/apps/gateway)';
  if (url.includes('/bench/peers/')) return 'the peer itself (bench/peers)';
  if (url.startsWith('node:')) return 'Node core (http, net, streams, events)';
  return 'other';
}

/**
 * Self time per area and per function from a V8 .cpuprofile, counting only samples taken
 * between `fromUs` and `toUs` (microseconds since the profile started; default: all).
 */
export function summarize(profile, fromUs = 0, toUs = Infinity) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const areas = new Map();
  let busy = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const a = area(cf);
    if (a === 'idle') continue;
    busy += us;
    areas.set(a, (areas.get(a) ?? 0) + us);
    const file = cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|bench)\//, '$1/');
    const key = `${cf.functionName || '(anonymous)'}${file ? ` ${file}:${cf.lineNumber + 1}` : ''}`;
    const f = fns.get(key) ?? { fn: key, area: a, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const share = (us) => (us / busy) * 100;
  return {
    byFunction: fns,
    busyMs: busy / 1000,
    areas: [...areas].sort((x, y) => y[1] - x[1]).map(([name, us]) => ({ area: name, us, pct: share(us) })),
    top: [...fns.values()]
      .sort((x, y) => y.us - x.us)
      .slice(0, 25)
      .map((f) => ({ ...f, pct: share(f.us) })),
  };
}

/** Starts one profiled process, loads it, stops it; returns the summary of the measured window. */
async function profileOne(gen, tmp, { name, args, env, url, headers = {}, ready, logFile }) {
  const profDir = join(tmp, `prof-${name}`);
  const t0 = performance.now();
  const proc = start(name, process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...args], {
    cwd: ROOT,
    env,
    logFile,
  });
  await waitReady(proc, ready);
  await blast(gen, { url, headers, seconds: WARM_S, workDir: tmp });
  const from = performance.now() - t0;
  const cpu0 = cpuMicros(proc.pid);
  const r = await blast(gen, { url, headers, seconds: SECONDS, workDir: tmp });
  const cpu1 = cpuMicros(proc.pid);
  const to = performance.now() - t0;
  await stop(proc, 10000); // SIGTERM: a clean exit writes the profile
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`${name}: no .cpuprofile written`);
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(profDir, file), join(outDir, `${name}.cpuprofile.json`));
  // The profile clock starts with the process (a few ms after spawn): the window is close enough.
  const s = summarize(JSON.parse(readFileSync(join(profDir, file), 'utf8')), from * 1000, to * 1000);
  const cpuPerRequest = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / r.requests : null;
  process.stderr.write(
    `[profile] ${name}: ${r.rps.toFixed(0)} req/s, ${cpuPerRequest?.toFixed(0)} µs CPU/request, ${r.errors} errors\n`,
  );
  return { name, rps: r.rps, requests: r.requests, errors: r.errors, cpuPerRequest, ...s };
}

function report(gw, peer) {
  const lines = [];
  lines.push(
    `Measured window: ${SECONDS} s after ${WARM_S} s warm-up (wrk, 1 thread, 50 connections).`,
    `Breakwater: ${gw.rps.toFixed(0)} req/s, ${gw.cpuPerRequest?.toFixed(0)} µs CPU/request; ` +
      `Nest + undici proxy: ${peer.rps.toFixed(0)} req/s, ${peer.cpuPerRequest?.toFixed(0)} µs CPU/request.`,
    '',
    '| area | Breakwater share | Breakwater µs/req | Nest + undici µs/req | difference µs/req |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  const perReq = (s, a) => {
    const hit = s.areas.find((x) => x.area === a);
    return hit ? hit.us / s.requests : 0;
  };
  const names = [...new Set([...gw.areas.map((a) => a.area), ...peer.areas.map((a) => a.area)])];
  names.sort((a, b) => perReq(gw, b) - perReq(gw, a));
  for (const a of names) {
    const g = perReq(gw, a);
    const p = perReq(peer, a);
    const pct = gw.areas.find((x) => x.area === a)?.pct ?? 0;
    lines.push(
      `| ${a} | ${pct.toFixed(1)} % | ${g.toFixed(0)} | ${p.toFixed(0)} | ${(g - p >= 0 ? '+' : '') + (g - p).toFixed(0)} |`,
    );
  }
  const total = (s) => s.areas.reduce((n, a) => n + a.us, 0) / s.requests;
  lines.push(
    `| **total (profiled)** | 100 % | ${total(gw).toFixed(0)} | ${total(peer).toFixed(0)} | +${(total(gw) - total(peer)).toFixed(0)} |`,
  );
  lines.push(
    '',
    'Largest differences by function (self µs per request, Breakwater − Nest + undici):',
    '',
    '| function | area | Breakwater | Nest + undici | difference |',
    '| --- | --- | ---: | ---: | ---: |',
  );
  const diffs = [...new Set([...gw.byFunction.keys(), ...peer.byFunction.keys()])].map((k) => {
    const g = (gw.byFunction.get(k)?.us ?? 0) / gw.requests;
    const p = (peer.byFunction.get(k)?.us ?? 0) / peer.requests;
    return { k, area: (gw.byFunction.get(k) ?? peer.byFunction.get(k)).area, g, p, d: g - p };
  });
  diffs.sort((x, y) => y.d - x.d);
  for (const d of diffs.slice(0, 20)) {
    lines.push(`| \`${d.k}\` | ${d.area} | ${d.g.toFixed(1)} | ${d.p.toFixed(1)} | +${d.d.toFixed(1)} |`);
  }
  lines.push(
    '',
    'Breakwater, top functions by self time:',
    '',
    '| # | function | area | self share |',
    '| ---: | --- | --- | ---: |',
  );
  gw.top.forEach((f, i) => lines.push(`| ${i + 1} | \`${f.fn}\` | ${f.area} | ${f.pct.toFixed(1)} % |`));
  return lines.join('\n');
}

async function main() {
  const tmp = mkdtempSync(join(os.tmpdir(), 'breakwater-profile-'));
  try {
    const gen = detectLoadGenerator();
    const [pUp, pGw, pPeer, d1, d2] = await freePorts(5);
    const upstream = `http://127.0.0.1:${pUp}`;
    const routesPath = join(tmp, 'routes.yaml');
    writeFileSync(routesPath, routesFile({ upstream, deadPorts: [d1, d2] }));
    const up = start('flaky-upstream', process.execPath, ['dist/apps/flaky-upstream/main.js'], {
      cwd: ROOT,
      env: { PORT: String(pUp), HOST: '127.0.0.1', FLAKY_FAILURE_RATE: '0', FLAKY_DELAY_RATE: '0' },
    });
    await waitReady(up, `${upstream}/ok`);
    const gw = await profileOne(gen, tmp, {
      name: 'gateway',
      args: ['dist/apps/gateway/main.js'],
      env: {
        PORT: String(pGw),
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        GATEWAY_CONFIG: routesPath,
        API_KEYS,
        LOG_LEVEL: 'info',
        RATE_LIMIT_ENABLED: 'true',
      },
      url: `http://127.0.0.1:${pGw}/v1/proxy/bench/ok`,
      headers: AUTH_HEADERS,
      ready: `http://127.0.0.1:${pGw}/health/live`,
      logFile: join(tmp, 'gateway.log'),
    });
    const peer = await profileOne(gen, tmp, {
      name: 'nest-undici-proxy',
      args: ['bench/peers/nest-undici-proxy.mjs'],
      env: { PORT: String(pPeer), UPSTREAM_URL: upstream, NODE_ENV: 'production' },
      url: `http://127.0.0.1:${pPeer}/ok`,
      ready: `http://127.0.0.1:${pPeer}/ok`,
    });
    await stop(up);
    process.stdout.write(`${report(gw, peer)}\n`);
    writeFileSync(
      join(ROOT, 'bench', 'results', 'profile.json'),
      `${JSON.stringify(
        { date: new Date().toISOString(), loadAverage: os.loadavg(), gateway: gw, nestUndici: peer },
        (key, value) => (key === 'byFunction' ? undefined : value),
        2,
      )}\n`,
    );
  } finally {
    await stopAll(3000);
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('exit', killAllNow);
  process.on('SIGINT', () => void stopAll(2000).finally(() => process.exit(130)));
  main().catch((err) => {
    process.stderr.write(`[profile] failed: ${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
}
