// Rate limits end to end: two gateway processes on one real redis-server share each bucket
// exactly; the headers, the 429 and the metrics; the client address cannot be spoofed.
import {
  type FlakyProc,
  type GatewayProc,
  type HttpResponse,
  type RedisProc,
  request,
  startFlaky,
  startGateway,
  startRedis,
} from './helpers/index.js';
import { metricValue, waitForRedisUp } from './rate-limit.helpers.js';

let flaky: FlakyProc;
let redis: RedisProc;
let a: GatewayProc; // TRUST_PROXY=false (the default)
let b: GatewayProc; // TRUST_PROXY=1: trusts one X-Forwarded-For hop

const routes = (upstream: string): Record<string, unknown> => ({
  services: {
    limited: { instances: [upstream], rateLimit: { capacity: 10, refillPerSecond: 0.001 } },
    spoof: { instances: [upstream], rateLimit: { capacity: 3, refillPerSecond: 0.001 } },
    headers: { instances: [upstream], rateLimit: { capacity: 4, refillPerSecond: 0.5 } },
    free: { instances: [upstream], rateLimit: false },
  },
});

beforeAll(async () => {
  [flaky, redis] = await Promise.all([startFlaky(), startRedis()]);
  // A generous command timeout: on a loaded test machine a stalled event loop must not send
  // these exactness checks to the local fallback (fallback.store.spec and redis-fallback cover that).
  const env = { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '3000', SHUTDOWN_DRAIN_MS: '200' };
  [a, b] = await Promise.all([
    startGateway({ routes: routes(flaky.url), env }),
    startGateway({ routes: routes(flaky.url), env: { ...env, TRUST_PROXY: '1' } }),
  ]);
  await Promise.all([waitForRedisUp(a), waitForRedisUp(b)]);
}, 30_000);

const via = (gw: GatewayProc, service: string, headers: Record<string, string> = {}): Promise<HttpResponse> =>
  request(`${gw.url}/v1/proxy/${service}/ok`, { headers });

describe('rate limit', () => {
  it('sends RateLimit-Policy and RateLimit on every limited response, and none where the limit is off', async () => {
    const first = await via(a, 'headers');
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"default";q=4;w=8');
    expect(first.headers.ratelimit).toBe('"default";r=3;t=2'); // 1 token missing at 0.5/s
    const free = await via(a, 'free');
    expect(free.status).toBe(200);
    expect(free.headers['ratelimit-policy']).toBeUndefined();
    expect(free.headers.ratelimit).toBeUndefined();
  });

  it('answers 429 problem+json RATE_LIMITED with Retry-After once the bucket is empty', async () => {
    for (let i = 0; i < 3; i++) expect((await via(a, 'headers')).status).toBe(200);
    const refused = await via(a, 'headers');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.headers['ratelimit-policy']).toBe('"default";q=4;w=8');
    expect(refused.headers.ratelimit).toBe('"default";r=0;t=2');
    expect(refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  });

  it('shares one bucket across two gateways on one Redis: 30 concurrent requests, capacity 10, exactly 10 pass', async () => {
    await flaky.resetCounts();
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => via(i % 2 ? a : b, 'limited')));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect((await flaky.counts()).counts['/ok']).toBe(10); // refused requests never reach the upstream
    const remaining = responses.filter((r) => r.status === 200).map((r) => r.headers.ratelimit);
    expect(new Set(remaining).size).toBe(10); // r=9 … r=0, each once: one bucket, not two
  });

  it('counts every decision in gateway_rate_limit_decisions_total', async () => {
    const sum = async (decision: string): Promise<number> => {
      const [ta, tb] = await Promise.all([request(`${a.url}/metrics`), request(`${b.url}/metrics`)]);
      const labels = { service: 'limited', decision };
      return (
        metricValue(ta.text, 'gateway_rate_limit_decisions_total', labels) +
        metricValue(tb.text, 'gateway_rate_limit_decisions_total', labels)
      );
    };
    expect(await sum('allowed')).toBe(10);
    expect(await sum('blocked')).toBe(20);
  });

  it('ignores X-Forwarded-For when TRUST_PROXY=false: a spoofed address does not get a new bucket', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await via(a, 'spoof', { 'x-forwarded-for': `203.0.113.${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    // The spoofed value is kept as history; the address the gateway saw is appended (and used).
    const echo = await request(`${a.url}/v1/proxy/free/echo/x`, { headers: { 'x-forwarded-for': '203.0.113.99' } });
    expect(echo.json<{ headers: Record<string, string> }>().headers['x-forwarded-for']).toBe('203.0.113.99, 127.0.0.1');
  });

  it('(control) honours X-Forwarded-For from a trusted hop: TRUST_PROXY=1 gives each forwarded address its own bucket', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await via(b, 'spoof', { 'x-forwarded-for': `198.51.100.${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('hides /admin/* (404 NOT_FOUND) when ADMIN_API_KEY is unset', async () => {
    const res = await request(`${a.url}/admin/breakers`, { headers: { 'x-api-key': 'anything-at-all' } });
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps its buckets in Redis under REDIS_KEY_PREFIX, hash-tagged, expiring', async () => {
    const keys = (await redis.cli('--scan', '--pattern', 'bw:{rl:*')).split('\n').sort();
    expect(keys).toEqual(
      expect.arrayContaining([
        'bw:{rl:headers:ip:127.0.0.1}',
        'bw:{rl:limited:ip:127.0.0.1}',
        'bw:{rl:spoof:ip:127.0.0.1}',
      ]),
    );
    expect(keys).toContain('bw:{rl:spoof:ip:198.51.100.0}');
    expect(Number(await redis.cli('PTTL', 'bw:{rl:headers:ip:127.0.0.1}'))).toBeGreaterThan(0);
  });
});
