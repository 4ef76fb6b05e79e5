// Hot reload of the routes file (issue 7, CONTRACT §4): POST /admin/reload, SIGHUP, the folder
// watch (Kubernetes ConfigMap symlink swap, editor write-rename), refused files, breaker state
// across reloads, in-flight requests, and 1,000 reloads without a failed request or a leak.
import { jest } from '@jest/globals';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  type FlakyProc,
  type GatewayProc,
  type HttpResponse,
  onCleanup,
  request,
  sleep,
  startFlaky,
  startGateway,
} from './helpers/index.js';

jest.setTimeout(30_000);

const ADMIN = 'admin-key-for-tests';
const ENV = { ADMIN_API_KEY: ADMIN, RATE_LIMIT_ENABLED: 'false', SHUTDOWN_DRAIN_MS: '500' };

let flaky: FlakyProc;

beforeAll(async () => {
  flaky = await startFlaky();
}, 30_000);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bw-reload-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a file the way careful tools do: a temp file renamed over the target (never half-written). */
function writeAtomically(path: string, routes: Record<string, unknown> | string): void {
  writeFileSync(`${path}.tmp`, typeof routes === 'string' ? routes : stringify(routes));
  renameSync(`${path}.tmp`, path);
}

function reload(gw: GatewayProc, key: string | null = ADMIN): Promise<HttpResponse> {
  return request(`${gw.mgmtUrl}/admin/reload`, { method: 'POST', headers: key ? { 'x-api-key': key } : {} });
}

function status(gw: GatewayProc, path: string): Promise<number> {
  return request(`${gw.url}${path}`).then((r) => r.status);
}

/** Polls until `path` answers `expected` (the watch is asynchronous by nature). */
async function until(gw: GatewayProc, path: string, expected: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = await status(gw, path);
    if (last === expected) return;
    await sleep(25);
  }
  throw new Error(`${path} still answers ${last}, expected ${expected}`);
}

function reloadEvents(gw: GatewayProc, trigger?: string): Record<string, unknown>[] {
  return gw.logs().filter((l) => l.event === 'config_reload' && (trigger === undefined || l.trigger === trigger));
}

async function metric(gw: GatewayProc, name: string, labels = ''): Promise<number> {
  const text = (await request(`${gw.mgmtUrl}/metrics`)).text;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').includes(labels)) return Number(m[3]);
  }
  return NaN;
}

describe('explicit reloads (endpoint, SIGHUP)', () => {
  // GATEWAY_CONFIG is a symlink to a file in another folder, edited in place: the folder watch
  // does not see those edits, so only the endpoint or SIGHUP can have applied a change.
  let gw: GatewayProc;
  let real: string;

  beforeAll(async () => {
    const linkDir = tempDir();
    real = join(tempDir(), 'routes.yaml');
    writeFileSync(real, stringify({ services: { a: { instances: [flaky.url] } } }));
    symlinkSync(real, join(linkDir, 'gateway.yaml'));
    gw = await startGateway({ env: { ...ENV, GATEWAY_CONFIG: join(linkDir, 'gateway.yaml') } });
  }, 30_000);

  it('POST /admin/reload applies the file and answers what changed', async () => {
    expect(await status(gw, '/v1/proxy/b/ok')).toBe(404);
    const successBefore = await metric(gw, 'gateway_config_reloads_total', 'result="success"');
    writeFileSync(
      real,
      stringify({
        services: { a: { instances: [flaky.url], timeoutMs: 3000 }, b: { instances: [flaky.url] } },
        routes: [{ path: '/api/b', service: 'b', rewrite: '/' }],
      }),
    );
    const res = await reload(gw);
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      result: 'success',
      trigger: 'api',
      changed: true,
      services: { added: ['b'], removed: [], changed: ['a'] },
      routes: { added: ['/api/b -> b:/'], removed: [] },
    });
    expect(body.version.from).not.toBe(body.version.to);
    expect(await status(gw, '/v1/proxy/b/ok')).toBe(200);
    expect(await status(gw, '/api/b/ok')).toBe(200);
    expect(await metric(gw, 'gateway_config_reloads_total', 'result="success"')).toBe(successBefore + 1);
    expect(reloadEvents(gw, 'api').at(-1)).toMatchObject({ result: 'success', version: body.version.to });

    const again = (await reload(gw)).json();
    expect(again).toMatchObject({ changed: false, services: { added: [], removed: [], changed: [] } });
  });

  it('refuses a bad file with 422 listing every problem, and keeps serving the old routes', async () => {
    const failuresBefore = await metric(gw, 'gateway_config_reloads_total', 'result="failure"');
    writeFileSync(
      real,
      stringify({
        services: { a: { instances: ['ftp://nowhere'], retry: { maxRetries: -1 } }, c: { instances: [] } },
        routes: [{ path: '/admin/x', service: 'a' }],
      }),
    );
    const res = await reload(gw);
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json<{ code: string; problems: string[]; detail: string }>();
    expect(problem.code).toBe('UNPROCESSABLE');
    const paths = problem.problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'services.a.instances[0]',
        'services.a.retry.maxRetries',
        'services.c.instances',
        'routes[0].path',
      ]),
    );
    expect(await status(gw, '/v1/proxy/a/ok')).toBe(200);
    expect(await status(gw, '/v1/proxy/b/ok')).toBe(200);
    expect(await status(gw, '/api/b/ok')).toBe(200);
    expect(await metric(gw, 'gateway_config_reloads_total', 'result="failure"')).toBe(failuresBefore + 1);
    expect(reloadEvents(gw, 'api').at(-1)).toMatchObject({ result: 'failure', level: 'warn' });
  });

  it('SIGHUP reloads the file', async () => {
    writeFileSync(real, stringify({ services: { a: { instances: [flaky.url] }, sig: { instances: [flaky.url] } } }));
    expect(await status(gw, '/v1/proxy/sig/ok')).toBe(404);
    gw.signal('SIGHUP');
    await until(gw, '/v1/proxy/sig/ok', 200);
    expect(reloadEvents(gw, 'sighup').at(-1)).toMatchObject({ result: 'success', changes: { changed: true } });
    expect(await status(gw, '/v1/proxy/b/ok')).toBe(404); // b was removed by this file
  });

  it('is guarded by the admin key', async () => {
    expect((await reload(gw, null)).status).toBe(401);
    expect((await reload(gw, 'wrong-key-123456')).status).toBe(401);
  });

  it('does not exist without ADMIN_API_KEY', async () => {
    const plain = await startGateway({ env: { RATE_LIMIT_ENABLED: 'false' } });
    expect((await reload(plain)).status).toBe(404);
  });
});

describe('the folder watch', () => {
  it('follows a Kubernetes ConfigMap update (..data symlink swap), and ignores unchanged content', async () => {
    const dir = tempDir();
    let current: string | null = null;
    const publish = (stamp: string, routes: Record<string, unknown>): void => {
      // What the kubelet does: a new timestamped folder, `..data_tmp` pointing at it, renamed over `..data`.
      mkdirSync(join(dir, stamp));
      writeFileSync(join(dir, stamp, 'gateway.yaml'), stringify(routes));
      symlinkSync(stamp, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      if (current) rmSync(join(dir, current), { recursive: true });
      current = stamp;
    };
    publish('..2024_01_01_00_00_00.000000001', { services: { a: { instances: [flaky.url] } } });
    symlinkSync('..data/gateway.yaml', join(dir, 'gateway.yaml'));
    const gw = await startGateway({ env: { ...ENV, GATEWAY_CONFIG: join(dir, 'gateway.yaml') } });
    expect(await status(gw, '/v1/proxy/cm/ok')).toBe(404);

    const v2 = { services: { a: { instances: [flaky.url] }, cm: { instances: [flaky.url] } } };
    publish('..2024_01_01_00_00_00.000000002', v2);
    await until(gw, '/v1/proxy/cm/ok', 200);
    expect(reloadEvents(gw, 'watch')).toHaveLength(1);
    expect(reloadEvents(gw, 'watch')[0]).toMatchObject({ result: 'success', changes: { services: { added: ['cm'] } } });

    publish('..2024_01_01_00_00_00.000000003', v2); // same content, new folder
    await sleep(600); // 3x the debounce
    publish('..2024_01_01_00_00_00.000000004', { services: { cm: { instances: [flaky.url] } } });
    await until(gw, '/v1/proxy/a/ok', 404);
    expect(reloadEvents(gw, 'watch').map((e) => (e.changes as { services: unknown }).services)).toEqual([
      { added: ['cm'], removed: [], changed: [] },
      { added: [], removed: ['a'], changed: [] },
    ]);
  });

  it("follows an editor's write-rename, and keeps the old table when the new file is bad", async () => {
    const gw = await startGateway({ routes: { services: { a: { instances: [flaky.url] } } }, env: ENV });
    writeAtomically(gw.configPath, { services: { a: { instances: [flaky.url] }, ed: { instances: [flaky.url] } } });
    await until(gw, '/v1/proxy/ed/ok', 200);
    writeAtomically(gw.configPath, 'services: { a: { instances: [oops }');
    const deadline = Date.now() + 5000;
    while (!reloadEvents(gw, 'watch').some((e) => e.result === 'failure') && Date.now() < deadline) await sleep(25);
    expect(reloadEvents(gw, 'watch').at(-1)).toMatchObject({ result: 'failure' });
    expect(await status(gw, '/v1/proxy/ed/ok')).toBe(200);
  });
});

describe('what a reload keeps', () => {
  it('keeps the breaker state of unchanged instances, and drops removed ones', async () => {
    const sick = await startFlaky();
    const gone = 'http://127.0.0.1:9'; // discard port: nothing listens
    const brk = {
      instances: [sick.url],
      retry: { maxRetries: 0 },
      circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 60_000 },
    };
    const gw = await startGateway({
      routes: { services: { brk, other: { instances: [gone, flaky.url], retry: { maxRetries: 0 } } } },
      env: ENV,
    });
    await sick.chaos({ down: true });
    expect(await status(gw, '/v1/proxy/brk/ok')).toBe(503); // the upstream's 503: the circuit opens
    const open = await request(`${gw.url}/v1/proxy/brk/ok`);
    expect(open.json<{ code: string }>().code).toBe('CIRCUIT_OPEN');
    await sick.chaos({ down: false });

    // brk changes a policy (same instance); other loses an instance; a service is added.
    writeAtomically(gw.configPath, {
      services: {
        brk: { ...brk, timeoutMs: 2500 },
        other: { instances: [flaky.url] },
        extra: { instances: [flaky.url] },
      },
    });
    const res = (await reload(gw)).json();
    expect(res.services).toEqual({ added: ['extra'], removed: [], changed: ['brk', 'other'] });

    const still = await request(`${gw.url}/v1/proxy/brk/ok`);
    expect(still.status).toBe(503);
    expect(still.json<{ code: string }>().code).toBe('CIRCUIT_OPEN');
    const breakers = (await request(`${gw.mgmtUrl}/admin/breakers`, { headers: { 'x-api-key': ADMIN } })).json<{
      breakers: { id: string; state: string }[];
    }>().breakers;
    const byId = Object.fromEntries(breakers.map((b) => [b.id, b.state]));
    expect(byId[`brk/${sick.hostPort}`]).toBe('OPEN');
    expect(byId['other/127.0.0.1:9']).toBeUndefined();
    expect(Object.keys(byId).sort()).toEqual(
      [`brk/${sick.hostPort}`, `extra/${flaky.hostPort}`, `other/${flaky.hostPort}`].sort(),
    );
  });

  it('lets in-flight requests finish on the old table', async () => {
    const gw = await startGateway({ routes: { services: { old: { instances: [flaky.url] } } }, env: ENV });
    const inFlight = request(`${gw.url}/v1/proxy/old/slow?ms=400`);
    await sleep(100);
    writeAtomically(gw.configPath, { services: { fresh: { instances: [flaky.url] } } });
    expect((await reload(gw)).json().services.removed).toEqual(['old']);
    expect(await status(gw, '/v1/proxy/old/ok')).toBe(404);
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ slow: 400 });
  });

  it('survives 1,000 reloads with no failed request and no leak', async () => {
    const gw = await startGateway({ routes: { services: { stable: { instances: [flaky.url] } } }, env: ENV });
    const config = (i: number): Record<string, unknown> => ({
      services: {
        stable: { instances: [flaky.url], timeoutMs: 1000 + (i % 2) },
        // A new instance every time: a breaker, a gauge series and a retry budget made and dropped per reload.
        churn: { instances: [`http://127.0.0.1:${20000 + (i % 997)}`] },
      },
    });
    let stop = false;
    let served = 0;
    const failures: string[] = [];
    const traffic = (async () => {
      while (!stop) {
        const res = await request(`${gw.url}/v1/proxy/stable/ok`);
        if (res.status === 200) served++;
        else failures.push(`${res.status} ${res.text.slice(0, 200)}`);
      }
    })();
    const reloadMany = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        writeAtomically(gw.configPath, config(i));
        const res = await reload(gw);
        if (res.status !== 200) throw new Error(`reload ${i}: ${res.status} ${res.text}`);
      }
    };
    const sample = async () => ({
      rss: await metric(gw, 'process_resident_memory_bytes'),
      handles: await metric(gw, 'nodejs_active_handles_total'),
    });

    await reloadMany(0, 100); // warm-up: JIT, pools, the events ring fills
    const before = await sample();
    await reloadMany(100, 1000);
    stop = true;
    await traffic;
    const after = await sample();

    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(0);
    const text = (await request(`${gw.mgmtUrl}/metrics`)).text;
    expect(text.split('\n').filter((l) => l.startsWith('gateway_circuit_state{'))).toHaveLength(2);
    const breakers = (await request(`${gw.mgmtUrl}/admin/breakers`, { headers: { 'x-api-key': ADMIN } })).json()
      .breakers;
    expect(breakers).toHaveLength(2);
    expect(after.handles - before.handles).toBeLessThanOrEqual(5); // no watchers or timers pile up
    const growthMiB = (after.rss - before.rss) / 2 ** 20;
    process.stdout.write(
      `1,000 reloads: RSS ${(before.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} MiB, handles ${before.handles} → ${after.handles}, ${served} requests served\n`,
    );
    // V8 collects lazily (the heap climbs ~40 MiB before a major GC, then falls back): the bound catches a real leak, not GC lag.
    expect(growthMiB).toBeLessThan(64);
  }, 120_000);
});
