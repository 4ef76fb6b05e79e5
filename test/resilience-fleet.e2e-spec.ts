// Fleet-wide breaker state (CONTRACT §4): two gateway processes on one real redis-server, one flaky upstream.
// An open circuit spreads within 1 s, half-open runs one trial across the fleet, and Redis dying or
// coming back never stops traffic.
import {
  type FlakyProc,
  type GatewayProc,
  type RedisProc,
  request,
  sleep,
  startFlaky,
  startGateway,
  startRedis,
} from './helpers/index.js';
import {
  breaker,
  GATEWAY_ENV,
  hits,
  metric,
  problemCode,
  resetBreakers,
  summary,
  waitForState,
  waitUntil,
} from './resilience.helpers.js';

let redis: RedisProc;
let flaky: FlakyProc;
let other: FlakyProc;
let a: GatewayProc;
let b: GatewayProc;

beforeAll(async () => {
  [redis, flaky, other] = await Promise.all([startRedis(), startFlaky(), startFlaky()]);
  const routes = {
    services: {
      fleet: {
        instances: [flaky.url],
        timeoutMs: 2000,
        retry: { maxRetries: 0 },
        circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 500, halfOpenMaxRequests: 1, successThreshold: 1 },
      },
      lease: {
        instances: [flaky.url, other.url],
        timeoutMs: 2000,
        retry: { maxRetries: 0 },
        circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 400, halfOpenMaxRequests: 1, successThreshold: 1 },
      },
      outage: {
        instances: [flaky.url],
        timeoutMs: 300,
        retry: { maxRetries: 0 },
        circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 60_000 },
      },
    },
  };
  // A command slower than REDIS_COMMAND_TIMEOUT_MS makes a gateway decide alone (by design); on a busy
  // test machine 250 ms is not enough to keep Redis "up" through a burst of 50 requests.
  const env = { ...GATEWAY_ENV, REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '1000' };
  [a, b] = await Promise.all([
    startGateway({ routes, env, waitReady: true }),
    startGateway({ routes, env, waitReady: true }),
  ]);
  await Promise.all([a, b].map((gw) => waitForRedis(gw, true)));
});

beforeEach(async () => {
  await Promise.all([flaky.chaos({ down: false }), other.chaos({ down: false })]);
  await Promise.all([flaky.resetCounts(), other.resetCounts()]);
});

const get = (gw: GatewayProc, service: string, path: string) => request(`${gw.url}/v1/proxy/${service}${path}`);

/** Waits until the gateway says it uses Redis (true) or its local fallback (false). */
function waitForRedis(gw: GatewayProc, up: boolean, timeoutMs = 5000): Promise<number> {
  return waitUntil(
    `redis ${up ? 'up' : 'down'} on :${gw.port}`,
    async () => (await metric(gw, 'gateway_redis_fallback_active')) === (up ? 0 : 1),
    timeoutMs,
  );
}

describe('two gateways, one Redis', () => {
  it('a circuit opened through A is open on B within 1 s; B fails fast without touching the upstream', async () => {
    await flaky.chaos({ down: true });
    for (let i = 0; i < 3; i++) expect((await get(a, 'fleet', '/ok')).status).toBe(503);
    expect((await breaker(a, 'fleet', flaky)).state).toBe('OPEN');
    const took = await waitForState(b, 'fleet', flaky, 'OPEN', 1000);
    expect(took).toBeLessThanOrEqual(1000);
    expect((await summary(b)).circuit_breakers[`fleet/${flaky.hostPort}`]).toBe('OPEN');
    expect(await metric(b, 'gateway_circuit_state', { service: 'fleet', upstream: flaky.hostPort })).toBe(2);

    await flaky.chaos({ down: false });
    await flaky.resetCounts();
    const res = await get(b, 'fleet', '/ok');
    expect(res.status).toBe(503);
    expect(problemCode(res)).toBe('CIRCUIT_OPEN');
    expect(await hits(flaky)).toBe(0);
  });

  it('half-open: one trial across both gateways under 50 concurrent requests, then both close', async () => {
    // The circuit of the previous test goes half-open on each gateway after 500 ms.
    if ((await breaker(a, 'fleet', flaky)).state === 'CLOSED') {
      await flaky.chaos({ down: true });
      for (let i = 0; i < 3; i++) await get(a, 'fleet', '/ok');
      await flaky.chaos({ down: false });
    }
    await Promise.all([a, b].map((gw) => waitForState(gw, 'fleet', flaky, 'HALF_OPEN', 3000)));
    await flaky.resetCounts();
    // The trial takes 1.5 s: every other request is answered while it runs, even on a busy machine.
    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        get(i % 2 === 0 ? a : b, 'fleet', '/slow?ms=1500').then((r) => ({ ...r, ms: Date.now() - t0 })),
      ),
    );
    const trials = answers.filter((r) => r.status === 200);
    const lost = [a, b].map((gw) => gw.logs().filter((l) => l.event === 'redis_lost').length);
    expect({ trials: trials.length, at: trials.map((r) => r.ms), lost }).toEqual({
      trials: 1,
      at: [expect.any(Number)],
      lost: [0, 0],
    });
    expect(answers.filter((r) => problemCode(r) === 'CIRCUIT_OPEN')).toHaveLength(49);
    expect(await hits(flaky, '/slow')).toBe(1);
    // The trial succeeded: closed on the gateway that ran it and, through Redis, on the other.
    await Promise.all([a, b].map((gw) => waitForState(gw, 'fleet', flaky, 'CLOSED', 1000)));
    expect((await get(b, 'fleet', '/ok')).status).toBe(200);
    expect((await get(a, 'fleet', '/ok')).status).toBe(200);
  });

  it('while another gateway holds the trial of a half-open instance, requests go to the healthy one', async () => {
    await flaky.chaos({ down: true });
    while ((await breaker(a, 'lease', flaky)).state !== 'OPEN') await get(a, 'lease', '/ok');
    await waitForState(b, 'lease', flaky, 'OPEN', 1000);
    await flaky.chaos({ down: false });
    await Promise.all([a, b].map((gw) => waitForState(gw, 'lease', flaky, 'HALF_OPEN', 3000)));
    await Promise.all([flaky.resetCounts(), other.resetCounts()]);
    // Two slow requests through A: one is the fleet's trial on `flaky`, the other goes to `other`.
    const slow = Promise.all([get(a, 'lease', '/slow?ms=1200'), get(a, 'lease', '/slow?ms=1200')]);
    await waitUntil('the trial to start', async () => (await hits(flaky, '/slow')) === 1, 1000);
    // Meanwhile B's round robin must not answer 503 for the instance whose trial A holds.
    for (let i = 0; i < 6; i++) {
      const res = await get(b, 'lease', '/ok');
      expect(res.status).toBe(200);
      expect(res.headers['x-instance-id']).toBe(`flaky-${other.port}`);
    }
    expect((await slow).map((r) => r.status)).toEqual([200, 200]);
    expect(await hits(flaky)).toBe(1);
    await Promise.all([a, b].map((gw) => waitForState(gw, 'lease', flaky, 'CLOSED', 1000)));
  });

  it('admin reset on one gateway closes the circuit on the other', async () => {
    await flaky.chaos({ down: true });
    for (let i = 0; i < 2; i++) await get(a, 'outage', '/ok');
    await waitForState(b, 'outage', flaky, 'OPEN', 1000);
    expect((await resetBreakers(b, 'outage')).status).toBe(200);
    await waitForState(a, 'outage', flaky, 'CLOSED', 1000);
  });
});

describe('Redis dies mid-run', () => {
  it('both keep serving with local breakers, and converge when Redis returns', async () => {
    await redis.kill();
    await Promise.all([a, b].map((gw) => waitForRedis(gw, false)));

    // Requests are still answered by both.
    for (const gw of [a, b]) for (let i = 0; i < 3; i++) expect((await get(gw, 'outage', '/ok')).status).toBe(200);
    expect(await hits(flaky, '/ok')).toBe(6);

    // A circuit opened on A stays A's own: B keeps sending to the upstream.
    await flaky.chaos({ down: true });
    for (let i = 0; i < 2; i++) expect((await get(a, 'outage', '/ok')).status).toBe(503);
    expect((await breaker(a, 'outage', flaky)).state).toBe('OPEN');
    expect(problemCode(await get(a, 'outage', '/ok'))).toBe('CIRCUIT_OPEN');
    await sleep(300);
    expect((await breaker(b, 'outage', flaky)).state).toBe('CLOSED');
    await flaky.chaos({ down: false });
    expect((await get(b, 'outage', '/ok')).status).toBe(200);

    // Redis is back (empty): the replicas converge on the open circuit.
    await redis.restart();
    await Promise.all([a, b].map((gw) => waitForRedis(gw, true)));
    await waitForState(b, 'outage', flaky, 'OPEN', 2000);
    await flaky.resetCounts();
    expect(problemCode(await get(b, 'outage', '/ok'))).toBe('CIRCUIT_OPEN');
    expect(await hits(flaky)).toBe(0);

    // And new transitions spread again.
    expect((await resetBreakers(a, 'outage')).status).toBe(200);
    await waitForState(b, 'outage', flaky, 'CLOSED', 1000);
    expect((await get(b, 'outage', '/ok')).status).toBe(200);
  });
});
