// `npm run bench`: Breakwater against its peers, side by side, on loopback. Starts its own
// upstream, peers, gateways and Redis on free 127.0.0.1 ports, drives each row with the same
// load generator, prints one table (stdout; progress goes to stderr) and writes
// bench/results/latest.json. Every process it starts is stopped at the end, on error and on
// Ctrl-C. BENCH_QUICK=1: short rows (a ≤ 1 minute smoke run). See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  AUTH_HEADERS,
  API_KEYS,
  metricsSummary,
  MEMORY_STORE_MAX_BUCKETS,
  metricsText,
  routesFile,
  sampleGroups,
  sampleSum,
} from './lib/gateway.mjs';
import { blast, detectLoadGenerator, xffLoad } from './lib/load.mjs';
import { nginxSetup, nginxVersion } from './lib/nginx.mjs';
import {
  cpuMicros,
  freePorts,
  killAllNow,
  openFds,
  rssBytes,
  start,
  stop,
  stopAll,
  waitReady,
  waitRedis,
} from './lib/processes.mjs';
import { evaluateTargets, mb, pct, table, targetsTable } from './lib/report.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1';
const T = {
  passes: QUICK ? 1 : 3, // throughput rows: measured passes, interleaved across rows
  passS: QUICK ? 2 : 3, // seconds per pass (full run: 3 × 3 s = 9 s per row)
  warmS: QUICK ? 1 : 2, // warm-up before a row's first pass (and before each resilience row)
  rewarmS: 1, // warm-up before later passes
  rowS: QUICK ? 2 : 8, // resilience rows: one run this long
  soakS: QUICK ? 10 : 60,
  soakRate: 500,
  soakSettleS: QUICK ? 1 : 2, // soak: at the soak rate between the full-load walk and the measured run
  // Soak: client IPs (X-Forwarded-For), every request a new one. The walk at full load sends as
  // many as the rate limiter's memory store holds, so the store is full before the measured part,
  // whose ≈ 31,000 new clients each evict one (QUICK: a smaller walk, the store never fills).
  // Bounded in time on a slow machine.
  soakWalk: QUICK ? 10_000 : MEMORY_STORE_MAX_BUCKETS,
  soakWalkMaxS: QUICK ? 20 : 75,
  connections: 50,
  limitS: QUICK ? 150 : 420, // watchdog: the run must end well within this
};
const CHAOS = { failureRate: 0.2, delayRate: 0.2, delayMs: 200 };
const SOAK_CHAOS = { failureRate: 0.2, delayRate: 0 };
const FLAKY_SEED = '20260101';

const progress = (msg) => process.stderr.write(`[bench] ${msg}\n`);
let tmp = null;
let failed = false;
let interrupted = false;

// ---------------------------------------------------------------- cleanup: always stop everything
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    await stopAll(3000);
    if (tmp && process.env.BENCH_KEEP_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.on(signal, () => {
    interrupted = true;
    progress(`${signal}: stopping every process the bench started…`);
    void cleanup().finally(() => process.exit(code));
  });
}
process.on('exit', killAllNow);
setTimeout(() => {
  progress(`over the ${T.limitS} s limit: stopping`);
  void cleanup().finally(() => process.exit(1));
}, T.limitS * 1000).unref();

// ---------------------------------------------------------------- facts
function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function commandVersion(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0];
  } catch (err) {
    const text = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    return text ? text.split('\n')[0] : null;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    platform: `${os.platform()} ${os.release()}`,
  };
}

// ---------------------------------------------------------------- helpers
async function probe(url, headers = {}) {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let code = null;
    try {
      code = JSON.parse(text).code ?? null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, code };
  } catch (err) {
    return { status: null, code: err.cause?.code ?? err.message };
  }
}

/** A flaky-upstream on `port` with failure and delay rates 0 (chaos is set per row with PUT /__chaos). */
function flakyUpstream(name, port, instanceId = 'bench-upstream') {
  return start(name, process.execPath, ['dist/apps/flaky-upstream/main.js'], {
    cwd: ROOT,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      INSTANCE_ID: instanceId,
      FLAKY_FAILURE_RATE: '0',
      FLAKY_DELAY_RATE: '0',
      FLAKY_DELAY_MS: '200',
      FLAKY_SEED,
    },
  });
}

async function putChaos(origin, settings) {
  const res = await fetch(`${origin}/__chaos`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`PUT /__chaos answered ${res.status}`);
  await res.arrayBuffer();
}

function describe(p) {
  return `${p.status ?? 'no answer'}${p.code ? ` ${p.code}` : ''}`;
}

function skipped(key, label, why) {
  return { key, label, skipped: why, notes: [] };
}

/**
 * One measured pass of a closed-loop row: warm-up, then `T.passS` seconds; RSS of the process
 * under test at the end. Circuit-open row: errors are answers other than 503 (counted by the
 * gateway's own metrics) plus socket errors.
 */
async function loadPass(gen, spec, warmS) {
  const { url, headers } = spec;
  await blast(gen, { url, headers, seconds: warmS, connections: T.connections, workDir: tmp });
  const count503 = async () =>
    spec.key === 'circuitOpen'
      ? sampleSum(await metricsText(new URL(url).origin), 'gateway_http_requests_total', {
          service: 'dead',
          status: '503',
        })
      : null;
  const before = await count503();
  const cpuBefore = cpuMicros(spec.pid);
  const load1 = os.loadavg()[0];
  const r = await blast(gen, { url, headers, seconds: T.passS, connections: T.connections, workDir: tmp });
  const cpuAfter = cpuMicros(spec.pid);
  const after = await count503();
  r.cpuUsPerRequest =
    cpuBefore !== null && cpuAfter !== null && r.requests > 0 ? (cpuAfter - cpuBefore) / r.requests : null;
  r.load1 = Number(load1.toFixed(2));
  if (spec.key === 'circuitOpen') {
    const served503 = before !== null && after !== null ? after - before : 0;
    r.errors = Math.max(0, r.requests - served503) + r.socketErrors;
  }
  return { ...r, rssBytes: rssBytes(spec.pid) };
}

/** Opens every circuit of the `dead` service (its instances refuse connections) and notes the states. */
async function openCircuits(spec, base) {
  for (let i = 0; i < 20; i++) await probe(spec.url, spec.headers);
  const summary = await metricsSummary(base);
  const states = Object.entries(summary?.circuit_breakers ?? {}).filter(([id]) => id.startsWith('dead/'));
  const open = states.filter(([, st]) => st === 'OPEN').length;
  spec.notes.push(states.length ? `circuits open: ${open}/${states.length}` : 'no circuit states in /metrics');
  const pre = await probe(spec.url, spec.headers);
  spec.notes.push(
    `answers ${describe(pre)}${pre.status === 503 && pre.code === 'CIRCUIT_OPEN' ? '' : ' (expected 503 CIRCUIT_OPEN)'}`,
  );
}

// ---------------------------------------------------------------- the run
async function main() {
  const started = Date.now();
  const gen = detectLoadGenerator();
  gen.why = gen.forced
    ? 'BENCH_LOAD=autocannon'
    : gen.name === 'wrk'
      ? 'wrk is C and single-threaded: one core at most for the client, leaving the other to the process under test (autocannon, a Node process, needs about as much CPU as the server it drives)'
      : 'wrk is not installed (apt-get install wrk): autocannon, a Node process, competes with the server for the 2 cores, so absolute numbers are lower and ratios less telling';
  progress(`load generator: ${gen.version} (${gen.name}); ${QUICK ? 'QUICK run' : 'full run'}`);

  for (const f of ['dist/apps/gateway/main.js', 'dist/apps/flaky-upstream/main.js']) {
    if (!existsSync(join(ROOT, f)))
      throw new Error(`${f} is missing: run npm run build (npm run bench does it in prebench)`);
  }
  tmp = mkdtempSync(join(os.tmpdir(), 'breakwater-bench-'));
  const [pUp, pNginx, pBare, pHello, pUndici, pAxios, pGw, pGwRedis, pGwSoak, pRedis, pDead1, pDead2, pSoakUp] =
    await freePorts(13);
  const upstream = `http://127.0.0.1:${pUp}`;
  const soakUpstream = `http://127.0.0.1:${pSoakUp}`;
  const routes = routesFile({ upstream, soakUpstream, deadPorts: [pDead1, pDead2] });
  const routesPath = join(tmp, 'bench-routes.yaml');
  writeFileSync(routesPath, routes);

  const node = process.execPath;
  const nginx = nginxVersion();
  const redisVersion = commandVersion('redis-server', ['--version']);

  // -- start everything (in parallel; idle processes cost nothing measurable)
  const upProc = flakyUpstream('flaky-upstream', pUp);
  await waitReady(upProc, `${upstream}/ok`);

  let redisProc = null;
  if (redisVersion) {
    redisProc = start('redis-server', 'redis-server', [
      '--port',
      String(pRedis),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      tmp,
    ]);
    await waitRedis(redisProc, pRedis);
  }

  const gatewayEnv = (port, extra = {}) => ({
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    GATEWAY_CONFIG: routesPath,
    API_KEYS,
    LOG_LEVEL: 'info',
    RATE_LIMIT_ENABLED: 'true',
    ...extra,
  });
  const gateway = (name, port, extra) =>
    start(name, node, ['dist/apps/gateway/main.js'], {
      cwd: ROOT,
      env: gatewayEnv(port, extra),
      logFile: join(tmp, `${name}.log`),
    });
  const peer = (name, file, port) =>
    start(name, node, [join('bench', 'peers', file)], {
      cwd: ROOT,
      env: { PORT: String(port), UPSTREAM_URL: upstream, NODE_ENV: 'production' },
    });

  const procs = {
    nginx: null,
    bare: peer('bare-proxy', 'bare-proxy.mjs', pBare),
    hello: peer('nest-hello', 'nest-hello.mjs', pHello),
    undici: peer('nest-undici-proxy', 'nest-undici-proxy.mjs', pUndici),
    axios: peer('naive-nest-axios', 'naive-nest-axios.mjs', pAxios),
    gw: gateway('gateway-memory', pGw),
    gwRedis: redisProc ? gateway('gateway-redis', pGwRedis, { REDIS_URL: `redis://127.0.0.1:${pRedis}` }) : null,
    // The soak's client sends a new X-Forwarded-For on every request: trusted here only.
    gwSoak: gateway('gateway-soak', pGwSoak, { TRUST_PROXY: 'true' }),
  };
  let nginxConf = null;
  if (nginx) {
    const setup = nginxSetup(join(tmp, 'nginx'), { port: pNginx, upstreamPort: pUp });
    nginxConf = setup.conf;
    procs.nginx = start('nginx', nginx.bin, setup.args);
  }
  const bases = {
    nginx: `http://127.0.0.1:${pNginx}`,
    bare: `http://127.0.0.1:${pBare}`,
    hello: `http://127.0.0.1:${pHello}`,
    undici: `http://127.0.0.1:${pUndici}`,
    axios: `http://127.0.0.1:${pAxios}`,
    gw: `http://127.0.0.1:${pGw}`,
    gwRedis: `http://127.0.0.1:${pGwRedis}`,
    gwSoak: `http://127.0.0.1:${pGwSoak}`,
  };
  const readyPath = {
    nginx: '/ok',
    bare: '/ok',
    hello: '/ok',
    undici: '/ok',
    axios: '/ok',
    gw: '/health/live',
    gwRedis: '/health/live',
    gwSoak: '/health/live',
  };
  const startErrors = {};
  await Promise.all(
    Object.entries(procs).map(async ([k, p]) => {
      if (!p) return;
      try {
        await waitReady(p, bases[k] + readyPath[k]);
      } catch (err) {
        startErrors[k] = err.message;
        failed = true;
        progress(`could not start ${p.name}: ${err.message}`);
        await stop(p);
      }
    }),
  );
  progress(`started in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const rows = [];
  const ready = (k) => procs[k] && !startErrors[k];
  const notStarted = (k) => `failed to start: ${(startErrors[k] ?? '').split('\n')[0]}`;
  const gwUrl = (base, service, path) => `${base}/v1/proxy/${service}${path}`;

  // -- throughput rows: every row in turn, then again (passes), so that a burst of load from
  // other processes on the shared cores hits one pass of a row rather than the whole row.
  const specs = [
    { key: 'direct', label: 'direct (flaky-upstream /ok)', proc: 'up', url: `${upstream}/ok` },
    { key: 'nginx', label: 'nginx proxy', proc: 'nginx', url: `${bases.nginx}/ok` },
    { key: 'bareProxy', label: 'bare Node proxy (http + undici)', proc: 'bare', url: `${bases.bare}/ok` },
    { key: 'nestHello', label: 'Nest hello', proc: 'hello', url: `${bases.hello}/ok` },
    { key: 'nestUndici', label: 'Nest + undici proxy', proc: 'undici', url: `${bases.undici}/ok` },
    { key: 'naiveAxios', label: 'naive Nest + axios proxy', proc: 'axios', url: `${bases.axios}/ok` },
    {
      key: 'breakwater',
      label: 'Breakwater, memory store',
      proc: 'gw',
      url: gwUrl(bases.gw, 'bench', '/ok'),
      headers: AUTH_HEADERS,
    },
    {
      key: 'breakwaterRedis',
      label: 'Breakwater, Redis store',
      proc: 'gwRedis',
      url: gwUrl(bases.gwRedis, 'bench', '/ok'),
      headers: AUTH_HEADERS,
    },
    {
      key: 'circuitOpen',
      label: 'Breakwater, circuit open',
      proc: 'gw',
      url: gwUrl(bases.gw, 'dead', '/ok'),
      headers: AUTH_HEADERS,
      expect: 503,
    },
  ];
  procs.up = upProc;
  for (const spec of specs) {
    spec.headers ??= {};
    spec.notes = [];
    spec.passes = [];
    if (spec.key === 'nginx' && !nginx) spec.skipped = 'not installed (apt-get install nginx-light)';
    else if (spec.key === 'breakwaterRedis' && !redisProc) spec.skipped = 'redis-server not installed';
    else if (!ready(spec.proc)) spec.skipped = notStarted(spec.proc);
    if (spec.skipped) continue;
    spec.pid = procs[spec.proc].pid;
    if (spec.key === 'circuitOpen') await openCircuits(spec, bases.gw);
    const pre = await probe(spec.url, spec.headers);
    if (pre.status !== (spec.expect ?? 200))
      spec.notes.push(`preflight answered ${describe(pre)}, expected ${spec.expect ?? 200}`);
  }
  for (let pass = 0; pass < T.passes; pass++) {
    for (const spec of specs) {
      if (spec.skipped) continue;
      const r = await loadPass(gen, spec, pass === 0 ? T.warmS : T.rewarmS);
      spec.passes.push(r);
      progress(
        `${spec.label}, pass ${pass + 1}/${T.passes}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, ${r.errors} errors`,
      );
    }
  }
  for (const spec of specs) {
    if (spec.skipped) {
      rows.push(skipped(spec.key, spec.label, spec.skipped));
      continue;
    }
    const best = spec.passes.reduce((x, y) => (y.rps > x.rps ? y : x));
    const passes = spec.passes.map((p) => Math.round(p.rps));
    const notes = T.passes > 1 ? [`passes ${passes.join(' / ')} req/s`, ...spec.notes] : spec.notes;
    rows.push({
      key: spec.key,
      label: spec.label,
      url: spec.url,
      ...best,
      errors: spec.passes.reduce((n, p) => n + p.errors, 0),
      rssBytes: spec.passes.at(-1).rssBytes,
      notes,
      passes: spec.passes,
    });
  }
  for (const k of ['nginx', 'bare', 'hello', 'undici', 'axios', 'gwRedis']) await stop(procs[k]);
  await stop(redisProc);

  // -- resilience rows: chaos on /flaky-data
  await putChaos(upstream, CHAOS);
  rows.push(
    await resilienceRow(gen, {
      key: 'resilienceDirect',
      label: 'resilience: direct',
      url: `${upstream}/flaky-data`,
      pid: upProc.pid,
    }),
  );
  for (const [key, label, service] of [
    ['resilienceDefault', 'resilience: Breakwater, budget 0.2 (default)', 'resilient'],
    ['resilienceBudget30', 'resilience: Breakwater, budget 0.3', 'resilient-budget30'],
  ]) {
    if (!ready('gw')) rows.push(skipped(key, label, notStarted('gw')));
    else
      rows.push(
        await resilienceRow(gen, {
          key,
          label,
          url: gwUrl(bases.gw, service, '/flaky-data'),
          pid: procs.gw.pid,
          base: bases.gw,
          service,
        }),
      );
  }
  await stop(procs.gw);
  await stop(upProc);

  // -- soak: the fresh soak gateway and its own flaky-upstream, nothing else running
  if (!ready('gwSoak')) rows.push(skipped('soak', `soak (${T.soakRate} req/s)`, notStarted('gwSoak')));
  else rows.push(await soakRow(bases.gwSoak, procs.gwSoak.pid, { port: pSoakUp, origin: soakUpstream }));

  const logBytes = {};
  for (const name of ['gateway-memory', 'gateway-redis', 'gateway-soak']) {
    try {
      logBytes[name] = statSync(join(tmp, `${name}.log`)).size;
    } catch {
      /* not started */
    }
  }
  await stopAll();

  // -- ratios, targets, output
  const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
  const direct = byKey.direct?.rps ?? null;
  const naive = byKey.naiveAxios && !byKey.naiveAxios.skipped ? byKey.naiveAxios.rps : null;
  const throughputKeys = new Set([
    'direct',
    'nginx',
    'bareProxy',
    'nestHello',
    'nestUndici',
    'naiveAxios',
    'breakwater',
    'breakwaterRedis',
    'circuitOpen',
  ]);
  for (const r of rows) {
    if (r.skipped || !throughputKeys.has(r.key)) continue;
    r.xDirect = direct ? r.rps / direct : null;
    r.xNaive = naive ? r.rps / naive : null;
  }
  const targets = evaluateTargets(byKey);
  const seconds = (Date.now() - started) / 1000;

  const facts = machine();
  const versions = {
    node: process.versions.node,
    '@nestjs/core': pkgVersion('@nestjs/core'),
    '@nestjs/platform-express': pkgVersion('@nestjs/platform-express'),
    express: pkgVersion('express'),
    undici: pkgVersion('undici'),
    axios: pkgVersion('axios'),
    pino: pkgVersion('pino'),
    'prom-client': pkgVersion('prom-client'),
    opossum: pkgVersion('opossum'),
    ioredis: pkgVersion('ioredis'),
    autocannon: pkgVersion('autocannon'),
    loadGenerator: gen.version,
    nginx: nginx?.version ?? null,
    redis: redisVersion,
  };

  const out = [];
  out.push(
    `Breakwater bench — ${new Date().toISOString()} — ${QUICK ? 'QUICK (smoke) run' : 'full run'} in ${seconds.toFixed(0)} s`,
  );
  out.push(
    `machine: ${facts.cpus} × ${facts.cpuModel}, ${(facts.memoryBytes / 2 ** 30).toFixed(1)} GiB, load average ${startLoad.join(' ')} at start, ${facts.loadAverage.join(' ')} at end, ${facts.platform}`,
  );
  out.push(
    `node ${versions.node}, Nest ${versions['@nestjs/core']}, undici ${versions.undici}, axios ${versions.axios}; ${versions.nginx ?? 'nginx not installed'}; ${versions.redis ?? 'redis not installed'}`,
  );
  out.push(
    `load: ${gen.version}, 1 thread, ${T.connections} connections, throughput rows ${T.passes} × ${T.passS} s (interleaved passes, best shown) after ${T.warmS} s warm-up, resilience rows ${T.rowS} s; soak ${T.soakS} s at ${T.soakRate} req/s (autocannon overallRate) after a walk of ${T.soakWalk.toLocaleString('en-US')} requests at full load, a new X-Forwarded-For address on every request`,
  );
  const loads = rows.flatMap((r) => (r.passes ?? []).map((p) => p.load1));
  if (loads.length) {
    out.push(`1-min load average during the throughput passes: ${Math.min(...loads)}–${Math.max(...loads)} (2 cores)`);
  }
  out.push(`why ${gen.name}: ${gen.why}`);
  out.push('');
  out.push('--- bench routes file ---');
  out.push(routes.trimEnd());
  out.push('');
  out.push(table(rows));
  out.push('');
  out.push('errors = non-2xx answers + socket errors (circuit-open row: answers other than 503 + socket errors).');
  out.push(
    'RSS and CPU µs/req: the process under test (direct: the upstream; proxies: the proxy alone, not the upstream,',
  );
  out.push(
    'nor Redis); it rises too when other work crowds the cores (fewer events per wake-up). × = req/s ratio in this run.',
  );
  out.push('');
  out.push(targetsTable(targets));
  process.stdout.write(`${out.join('\n')}\n`);

  const result = {
    date: new Date().toISOString(),
    quick: QUICK,
    durationSeconds: Number(seconds.toFixed(1)),
    settings: T,
    loadGenerator: gen,
    versions,
    machine: { ...facts, loadAverageAtStart: startLoad },
    routesFile: routes,
    nginxConf,
    gatewayLogBytes: logBytes,
    rows,
    targets,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  progress(`wrote bench/results/latest.json (${seconds.toFixed(0)} s)`);
  return failed ? 1 : 0;
}

/** Full load on /flaky-data under chaos: success rate, retries per request and p99. */
async function resilienceRow(gen, { key, label, url, pid, base = null, service = null }) {
  const headers = base ? AUTH_HEADERS : {};
  const row = { key, label, url, notes: [] };
  const warm = await blast(gen, {
    url,
    headers,
    seconds: T.warmS,
    connections: T.connections,
    timeoutS: 10,
    workDir: tmp,
  });
  row.warmRequests = warm.requests;
  const before = base ? await metricsSummary(base) : null;
  const textBefore = base ? await metricsText(base) : '';
  const cpuBefore = cpuMicros(pid);
  const r = await blast(gen, { url, headers, seconds: T.rowS, connections: T.connections, timeoutS: 10, workDir: tmp });
  const cpuAfter = cpuMicros(pid);
  r.cpuUsPerRequest =
    cpuBefore !== null && cpuAfter !== null && r.requests > 0 ? (cpuAfter - cpuBefore) / r.requests : null;
  const after = base ? await metricsSummary(base) : null;
  const textAfter = base ? await metricsText(base) : '';
  Object.assign(row, r, { rssBytes: rssBytes(pid) });
  row.success = (r.requests - r.non2xx) / (r.requests + r.socketErrors);
  row.notes.push(`success ${pct(row.success)}`);
  if (base) {
    const retries =
      before?.total_retries !== undefined && after?.total_retries !== undefined
        ? after.total_retries - before.total_retries
        : null;
    row.retriesPerRequest = retries === null ? null : retries / Math.max(1, r.requests);
    row.notes.push(
      row.retriesPerRequest === null ? 'retries: n/a' : `${row.retriesPerRequest.toFixed(3)} retries/request`,
    );
    const delta = (name, labels) => {
      const a = sampleSum(textBefore, name, labels);
      const b = sampleSum(textAfter, name, labels);
      return a === null || b === null ? null : b - a;
    };
    const refused = delta('gateway_retry_budget_exhausted_total', { service });
    if (refused) row.notes.push(`${refused} retries refused by the budget`);
    const opened = delta('gateway_circuit_transitions_total', { service, to: 'open' });
    if (opened) row.notes.push(`circuit opened ${opened}×`);
  }
  progress(`${label}: ${r.rps.toFixed(0)} req/s, ${row.notes.join(', ')}, p99 ${r.p99Ms.toFixed(1)} ms`);
  return row;
}

/** Sums of a `{label: count}` map, for the labels that pass `keep`. */
function sumWhere(groups, keep = () => true) {
  return Object.entries(groups).reduce((n, [k, v]) => (keep(k) ? n + v : n), 0);
}

/**
 * The soak, on the fresh soak gateway (TRUST_PROXY=true) and its own flaky-upstream failing
 * 20 % of `/flaky-data` tries: a walk at full load on the soak service's healthy `/ok` that
 * fills the rate limiter's memory store (`T.soakWalk` clients; the heap also grows to its
 * working size there), a short settle, then `T.soakS` at a fixed rate on `/flaky-data`. Every
 * request carries a new X-Forwarded-For address (10.0.0.0/8 counted up), so during the measured
 * part every request is a new client and, once the store is full, evicts one.
 * Measured: RSS, open fds and event-loop lag at start and end of the fixed-rate part, and from
 * the gateway's /metrics (the soak service sees only this traffic, so its totals cover all
 * phases) the 5xx the gateway made itself, the rate limiter's decisions, retries.
 */
async function soakRow(base, pid, upstream) {
  const url = `${base}/v1/proxy/soak/flaky-data`;
  const upProc = flakyUpstream('flaky-upstream-soak', upstream.port, 'bench-soak-upstream');
  await waitReady(upProc, `${upstream.origin}/ok`);
  await putChaos(upstream.origin, SOAK_CHAOS);
  const lag = async () => {
    const v = sampleSum(await metricsText(base), 'nodejs_eventloop_lag_p99_seconds');
    return v === null ? null : v * 1000;
  };
  const space = 2 ** 24; // 10.0.0.0/8: never wraps here, so every address sent is a new client
  let next = 0; // addresses sent so far, over all phases (each phase goes on where the last stopped)
  const phases = {};
  const run = async (name, opts) => {
    const r = await xffLoad({ url, connections: T.connections, ipStart: next, ipSpace: space, ...opts });
    next += r.sent;
    phases[name] = r;
    return r;
  };
  const fresh = { rss: rssBytes(pid), fds: openFds(pid) };
  // The walk fills the store on the healthy path: at 20 % failures the gateway serves half as
  // many requests per second (opossum computes its rolling stats on every failure), and the
  // bench must stay within 5 minutes. The heap also grows to its working size here (V8 sizes its
  // young generation to the load), so growth measured afterwards at a steady rate is a leak.
  const w = await run('walk', { url: `${base}/v1/proxy/soak/ok`, amount: T.soakWalk, maxS: T.soakWalkMaxS });
  progress(
    `soak walk: ${w.sent.toLocaleString('en-US')} client addresses at ${w.rps.toFixed(0)} req/s, ${w.client5xx} 5xx (${w.gateway5xx} from the gateway)`,
  );
  const afterWalk = { rss: rssBytes(pid), fds: openFds(pid) };
  await run('settle', { seconds: T.soakSettleS, rate: T.soakRate });
  await lag(); // prom-client resets the lag histogram on each read: windows start here
  const t0 = Date.now();
  const cpuBefore = cpuMicros(pid);
  const running = run('soak', { seconds: T.soakS, rate: T.soakRate });
  const series = [];
  const sampler = setInterval(
    () => {
      series.push({
        s: Math.round((Date.now() - t0) / 1000),
        rssMB: Math.round(rssBytes(pid) / 1048576),
        fds: openFds(pid),
      });
    },
    (T.soakS / 12) * 1000,
  );
  const at = (s) => sleep(Math.max(0, t0 + s * 1000 - Date.now()));
  const window = Math.min(3, T.soakS / 4);
  await at(window);
  const first = { rss: rssBytes(pid), fds: openFds(pid), lagMs: await lag() };
  await at(T.soakS - window);
  await lag();
  await at(T.soakS - 0.3);
  const last = { rss: rssBytes(pid), fds: openFds(pid), lagMs: await lag() };
  const r = await running;
  clearInterval(sampler);
  const cpuAfter = cpuMicros(pid);
  r.cpuUsPerRequest =
    cpuBefore !== null && cpuAfter !== null && r.requests > 0 ? (cpuAfter - cpuBefore) / r.requests : null;

  // The gateway's own account, over every phase. A 500/502/504 is always the gateway's answer
  // (the upstream only ever fails with 503). A 503 is either the upstream's, passed through
  // after the last try, or the gateway's CIRCUIT_OPEN — which needs an open circuit: with no
  // circuit transition at all, every 503 is the upstream's. So gateway-caused 5xx = 500/502/504
  // (+ all 503s if any circuit moved, an upper bound). The client's view cross-checks it: the
  // upstream stamps X-Instance-Id on every answer and the gateway passes it through; the
  // gateway's own errors carry none.
  const text = await metricsText(base);
  const all = Object.values(phases);
  const total = (f) => all.reduce((n, p) => n + (p[f] ?? 0), 0);
  let gateway = null;
  if (text) {
    const byStatus = sampleGroups(text, 'gateway_http_requests_total', { service: 'soak' }, 'status');
    const transitions = sampleGroups(text, 'gateway_circuit_transitions_total', { service: 'soak' }, 'to');
    const circuitTransitions = sumWhere(transitions);
    const other5xx = sumWhere(byStatus, (st) => Number(st) >= 500 && st !== '503');
    const served503 = byStatus['503'] ?? 0;
    const upstreamOutcomes = sampleGroups(text, 'gateway_upstream_requests_total', { service: 'soak' }, 'outcome');
    const decisions = sampleGroups(text, 'gateway_rate_limit_decisions_total', { service: 'soak' }, 'decision');
    gateway = {
      answers: sumWhere(byStatus),
      byStatus,
      served5xx: sumWhere(byStatus, (st) => Number(st) >= 500),
      served503,
      circuitTransitions: transitions,
      caused5xx: other5xx + (circuitTransitions > 0 ? served503 : 0),
      upstreamOutcomes,
      upstreamTries: sumWhere(upstreamOutcomes),
      retries: sampleSum(text, 'gateway_retries_total', { service: 'soak' }) ?? 0,
      retriesRefusedByBudget: sampleSum(text, 'gateway_retry_budget_exhausted_total', { service: 'soak' }) ?? 0,
      rateLimitAllowed: decisions.allowed ?? 0,
      rateLimitBlocked: decisions.blocked ?? 0,
    };
  }
  const client = {
    requests: total('requests'),
    sent: next,
    socketErrors: total('socketErrors'),
    client5xx: total('client5xx'),
    upstream5xx: total('upstream5xx'),
    gateway5xx: total('gateway5xx'),
    gatewayCodes: {},
  };
  for (const p of all)
    for (const [k, v] of Object.entries(p.gatewayCodes)) client.gatewayCodes[k] = (client.gatewayCodes[k] ?? 0) + v;
  const chaos = await fetch(`${upstream.origin}/__chaos`, { signal: AbortSignal.timeout(3000) })
    .then((res) => res.json())
    .catch(() => null);
  await stop(upProc);

  const soak = {
    series,
    clientAddresses: next,
    storeCap: MEMORY_STORE_MAX_BUCKETS,
    walkClients: w.sent,
    phases: Object.fromEntries(
      Object.entries(phases).map(([k, p]) => [
        k,
        { requests: p.requests, sent: p.sent, rps: p.rps, statuses: p.statuses, socketErrors: p.socketErrors },
      ]),
    ),
    client,
    gateway,
    upstreamChaos: chaos,
    rssFresh: fresh.rss,
    rssAfterWalk: afterWalk.rss,
    rssStart: first.rss,
    rssEnd: last.rss,
    fdsFresh: fresh.fds,
    fdsAfterWalk: afterWalk.fds,
    fdsStart: first.fds,
    fdsEnd: last.fds,
    lagP99MsStart: first.lagMs,
    lagP99MsEnd: last.lagMs,
  };
  const f = (v) => (v === null ? 'n/a' : v.toFixed(1));
  const n = (v) => v.toLocaleString('en-US');
  const growth = first.rss && last.rss ? last.rss / first.rss - 1 : null;
  const sampled = series.map((x) => x.rssMB).filter((v) => v > 0);
  const range = sampled.length
    ? `, ${Math.min(...sampled)}–${Math.max(...sampled)} every ${Number((T.soakS / 12).toFixed(1))} s`
    : '';
  const notes = [
    `RSS ${mb(first.rss)} → ${mb(last.rss)} MB (${growth === null ? 'n/a' : `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %`}${range}; fresh ${mb(fresh.rss)}, after the walk ${mb(afterWalk.rss)})`,
    `loop lag p99 ${f(first.lagMs)} → ${f(last.lagMs)} ms`,
    `fds ${first.fds} → ${last.fds}`,
    `${n(next)} client IPs, one per request: ${n(w.sent)} in the walk (${w.rps.toFixed(0)} req/s; store ${w.sent >= MEMORY_STORE_MAX_BUCKETS ? 'full' : `${n(w.sent)}/${n(MEMORY_STORE_MAX_BUCKETS)}`}), ${n(next - w.sent)} new after it`,
  ];
  if (gateway) {
    const moved = sumWhere(gateway.circuitTransitions);
    const codes = Object.entries(client.gatewayCodes).map(([k, v]) => `${n(v)} ${k}`);
    notes.push(
      `rate limit ${n(gateway.rateLimitAllowed)} allowed, ${gateway.rateLimitBlocked} blocked`,
      `5xx made by the gateway: metrics ${gateway.served5xx - gateway.served503} of 500/502/504 and ` +
        (moved === 0
          ? `none of the ${n(gateway.served503)} 503s (no circuit transition: all the upstream's, passed through)`
          : `up to all ${n(gateway.served503)} 503s (${moved} circuit transitions: ${JSON.stringify(gateway.circuitTransitions)})`) +
        `; client ${n(client.gateway5xx)} 5xx without X-Instance-Id${codes.length ? ` (${codes.join(', ')})` : ''}`,
      // The walk's /ok never fails: every retry belongs to a /flaky-data request.
      `${(gateway.retries / Math.max(1, gateway.answers - w.requests)).toFixed(3)} retries per /flaky-data request, ${n(gateway.retriesRefusedByBudget)} refused by the budget`,
    );
  } else notes.push('/metrics unavailable');
  progress(`soak: ${r.rps.toFixed(0)} req/s, ${notes.join(', ')}`);
  return {
    key: 'soak',
    label: `soak (${T.soakS} s at ${T.soakRate} req/s, upstream failing 20 %)`,
    url,
    notes,
    ...r,
    rssBytes: last.rss,
    soak,
  };
}

const startLoad = os.loadavg().map((l) => Number(l.toFixed(2)));
main().then(
  (code) => cleanup().then(() => process.exit(code)),
  (err) => {
    if (interrupted) return; // the signal handler is stopping everything and exits
    process.stderr.write(`[bench] failed: ${err.stack ?? err}\n`);
    void cleanup().finally(() => process.exit(1));
  },
);
