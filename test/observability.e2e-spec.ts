import { execFileSync } from 'node:child_process';
import {
  type FlakyProc,
  type GatewayProc,
  metricsSummary,
  metricValue,
  request,
  samples,
  sleep,
  startFlaky,
  startGateway,
  startRedis,
  waitForRedisStatus,
} from './helpers/index.js';

/** The metric names of CONTRACT §5 (normative). */
const CONTRACT_METRICS = [
  'gateway_http_requests_total',
  'gateway_http_request_duration_seconds',
  'gateway_upstream_requests_total',
  'gateway_circuit_state',
  'gateway_circuit_transitions_total',
  'gateway_retries_total',
  'gateway_retry_budget_exhausted_total',
  'gateway_rate_limit_decisions_total',
  'gateway_redis_fallback_active',
  'gateway_cache_lookups_total',
  'gateway_config_reloads_total',
];

describe('observability: metrics and the JSON summary', () => {
  let flaky: FlakyProc;
  let gw: GatewayProc;

  beforeAll(async () => {
    flaky = await startFlaky({ env: { FLAKY_FAILURE_RATE: '0', FLAKY_DELAY_RATE: '0' } });
    gw = await startGateway({
      routes: {
        services: { flaky: { instances: [flaky.url], retry: { maxRetries: 0 }, rateLimit: false } },
        routes: [{ path: '/api/v1/data', service: 'flaky', rewrite: '/flaky-data' }],
      },
      env: { SHUTDOWN_DRAIN_MS: '500' },
    });
  });

  it('shows HELP and TYPE of every contract metric before any traffic', async () => {
    const res = await request(`${gw.mgmtUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
    for (const name of CONTRACT_METRICS) {
      expect(res.text).toContain(`# HELP ${name} `);
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    // Default process metrics too.
    expect(res.text).toContain('process_resident_memory_bytes');
    expect(metricValue(res.text, 'gateway_circuit_state', { service: 'flaky', upstream: flaky.hostPort })).toBe(0);
    expect(samples(res.text, 'gateway_redis_fallback_active')).toEqual(['gateway_redis_fallback_active 0']);
  });

  it('counts the traffic sent, and the JSON summary matches it', async () => {
    const before = await request(`${gw.mgmtUrl}/metrics`, { headers: { accept: 'application/json' } });
    const base = before.json<{ total_requests: number }>().total_requests;
    for (let i = 0; i < 7; i++) expect((await request(`${gw.url}/v1/proxy/flaky/users`)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await request(`${gw.url}/api/v1/data`)).status).toBe(200);
    expect((await request(`${gw.url}/v1/proxy/flaky/fail?status=404`)).status).toBe(404);

    const text = (await request(`${gw.mgmtUrl}/metrics`)).text;
    expect(metricValue(text, 'gateway_http_requests_total', { service: 'flaky', method: 'GET', status: '200' })).toBe(
      10,
    );
    expect(metricValue(text, 'gateway_http_requests_total', { service: 'flaky', method: 'GET', status: '404' })).toBe(
      1,
    );
    expect(
      metricValue(text, 'gateway_upstream_requests_total', {
        service: 'flaky',
        upstream: flaky.hostPort,
        outcome: 'success',
      }),
    ).toBe(10);
    expect(
      metricValue(text, 'gateway_upstream_requests_total', {
        service: 'flaky',
        upstream: flaky.hostPort,
        outcome: 'http_4xx',
      }),
    ).toBe(1);
    expect(metricValue(text, 'gateway_http_request_duration_seconds_count', { service: 'flaky', method: 'GET' })).toBe(
      11,
    );

    const summary = await metricsSummary(gw);
    expect(summary.total_requests - base).toBe(11);
    expect(summary.circuit_breakers).toEqual({ [`flaky/${flaky.hostPort}`]: 'CLOSED' });
    expect(summary).toMatchObject({ total_retries: 0, rate_limit_allowed: 0, rate_limit_blocked: 0, cache_hits: 0 });
  });

  it('adds no label values for 1,000 distinct random paths and methods', async () => {
    // Warm up the label sets the traffic below may legitimately use.
    await request(`${gw.url}/no-such-route/x`);
    await request(`${gw.url}/v1/proxy/flaky/echo/x`);
    await request(`${gw.url}/v1/proxy/nope-x/x`);
    const count = async () =>
      (await request(`${gw.mgmtUrl}/metrics`)).text
        .split('\n')
        .filter((l) => l.startsWith('gateway_') && !l.startsWith('#')).length;
    const before = await count();
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = Math.random().toString(36).slice(2);
      const url =
        i % 3 === 0
          ? `${gw.url}/${r}/${i}`
          : i % 3 === 1
            ? `${gw.url}/v1/proxy/flaky/echo/${r}`
            : `${gw.url}/v1/proxy/svc-${r}/x`;
      jobs.push(request(url, { headers: { 'x-random': r } }));
      if (jobs.length >= 50) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
    expect(await count()).toBe(before);
    const text = (await request(`${gw.mgmtUrl}/metrics`)).text;
    for (const line of samples(text, 'gateway_http_requests_total')) {
      expect(line).toMatch(/service="(flaky|unknown|gateway)"/);
    }
  });

  it('passes promtool check metrics (nothing said about gateway_* metrics)', async () => {
    const text = (await request(`${gw.mgmtUrl}/metrics`)).text;
    let out: string;
    try {
      out = execFileSync('promtool', ['check', 'metrics'], {
        input: text,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    const ours = out.split('\n').filter((l) => l.includes('gateway_'));
    expect(ours).toEqual([]);
  });

  it('logs probe and scrape hits at debug, never at info', async () => {
    await request(`${gw.mgmtUrl}/health/ready`);
    await request(`${gw.mgmtUrl}/health/live`);
    await sleep(100);
    const infoProbeLines = gw
      .logs()
      .filter((l) => l.level === 'info' && typeof l.path === 'string' && /^\/(health|metrics)/.test(l.path as string));
    expect(infoProbeLines).toEqual([]);
    // Proxied requests are logged, one line each, with the request id.
    const proxied = gw.logs().filter((l) => l.event === 'request' && l.service === 'flaky');
    expect(proxied.length).toBeGreaterThan(0);
    expect(proxied[0]).toMatchObject({ method: 'GET', status: expect.any(Number), requestId: expect.any(String) });
  });
});

describe('observability: probes in each state', () => {
  it('live and ready are 200 when all is well; ready turns 503 at once on SIGTERM while in-flight requests finish', async () => {
    const flaky = await startFlaky();
    const gw = await startGateway({
      routes: { services: { flaky: { instances: [flaky.url], retry: { maxRetries: 0 }, rateLimit: false } } },
      managementPort: true,
      env: { SHUTDOWN_DRAIN_MS: '5000' },
    });
    expect((await request(`${gw.mgmtUrl}/health/live`)).status).toBe(200);
    const ready = await request(`${gw.mgmtUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ok',
      details: { routes: { status: 'up', services: 1 }, shutdown: { status: 'up' } },
    });
    expect((await request(`${gw.mgmtUrl}/health`)).status).toBe(200);

    const inFlight = request(`${gw.url}/v1/proxy/flaky/slow?ms=600`);
    await sleep(100);
    gw.signal('SIGTERM');
    await sleep(50);
    const draining = await request(`${gw.mgmtUrl}/health/ready`);
    expect(draining.status).toBe(503);
    expect(draining.json()).toMatchObject({ status: 'error', error: { shutdown: { status: 'down', draining: true } } });
    // The in-flight request completes.
    expect((await inFlight).status).toBe(200);
    expect(await gw.exited).toBe(0);
  });

  it('ready stays 200 with a degraded Redis detail while redis-server is down; live is unaffected', async () => {
    const redis = await startRedis();
    const gw = await startGateway({ env: { REDIS_URL: redis.url, SHUTDOWN_DRAIN_MS: '200' } });
    const ready = await waitForRedisStatus(gw, 'up');
    expect(ready.json()).toMatchObject({ details: { redis: { status: 'up', store: 'redis' } } });

    await redis.kill();
    const degraded = await waitForRedisStatus(gw, 'degraded');
    expect(degraded.status).toBe(200);
    expect(degraded.json()).toMatchObject({ details: { redis: { status: 'degraded', degraded: true } } });
    expect((await request(`${gw.mgmtUrl}/health/live`)).status).toBe(200);
    const metrics = (await request(`${gw.mgmtUrl}/metrics`)).text;
    expect(samples(metrics, 'gateway_redis_fallback_active')).toEqual(['gateway_redis_fallback_active 1']);

    await redis.restart();
    await waitForRedisStatus(gw, 'up');
  });
});
