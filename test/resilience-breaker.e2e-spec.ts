// Circuit breakers end to end (CONTRACT §4): real gateway, real flaky-upstream processes, real sockets.
// Upstream hits are read from the upstreams' own counters (GET /__chaos), never from the gateway.
import { type FlakyProc, type GatewayProc, request, startFlaky, startGateway } from './helpers/index.js';
import {
  breaker,
  GATEWAY_ENV,
  hits,
  metric,
  problemCode,
  resetBreakers,
  summary,
  waitForState,
} from './resilience.helpers.js';

const NO_RETRY = { maxRetries: 0 };
const HALF_OPEN_RESET_MS = 300;
const TRIAL_MS = 800; // every concurrent request arrives while the trial runs, even on a busy machine

let f1: FlakyProc;
let f2: FlakyProc;
let gw: GatewayProc;

beforeAll(async () => {
  [f1, f2] = await Promise.all([startFlaky(), startFlaky()]);
  gw = await startGateway({
    routes: {
      services: {
        // Long reset: stays open for the whole test unless reset.
        thr: {
          instances: [f1.url],
          timeoutMs: 300,
          retry: NO_RETRY,
          circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 60_000 },
        },
        // Short reset: goes half-open in the test.
        brk: {
          instances: [f1.url],
          timeoutMs: 2000,
          retry: NO_RETRY,
          circuitBreaker: {
            failureThreshold: 3,
            resetTimeoutMs: HALF_OPEN_RESET_MS,
            halfOpenMaxRequests: 1,
            successThreshold: 2,
          },
        },
        // Re-opens for a whole second: time enough to check it fails fast.
        reo: {
          instances: [f1.url],
          timeoutMs: 300,
          retry: NO_RETRY,
          circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 1000, halfOpenMaxRequests: 1, successThreshold: 1 },
        },
        duo: {
          instances: [f1.url, f2.url],
          timeoutMs: 300,
          retry: NO_RETRY,
          circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 4_000 },
        },
      },
    },
    env: GATEWAY_ENV,
  });
});

beforeEach(async () => {
  await Promise.all([f1.chaos({ down: false }), f2.chaos({ down: false })]);
  await Promise.all([f1.resetCounts(), f2.resetCounts()]);
});

const get = (service: string, path: string) => request(`${gw.url}/v1/proxy/${service}${path}`);

describe('threshold and open circuit', () => {
  afterAll(async () => {
    await resetBreakers(gw, 'thr');
  });

  it('4xx answers never count as failures', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await get('thr', '/fail?status=404')).status).toBe(404);
      expect((await get('thr', '/fail?status=400')).status).toBe(400);
    }
    const b = await breaker(gw, 'thr', f1);
    expect(b).toMatchObject({ state: 'CLOSED', consecutiveFailures: 0 });
    expect(await hits(f1, '/fail')).toBe(20);
  });

  it('a success (or a 4xx) between failures resets the count', async () => {
    await get('thr', '/fail?status=503');
    await get('thr', '/fail?status=500');
    expect((await breaker(gw, 'thr', f1)).consecutiveFailures).toBe(2);
    expect((await get('thr', '/fail?status=409')).status).toBe(409);
    expect((await breaker(gw, 'thr', f1)).consecutiveFailures).toBe(0);
    await get('thr', '/fail?status=502');
    await get('thr', '/fail?status=503');
    expect((await get('thr', '/ok')).status).toBe(200);
    expect(await breaker(gw, 'thr', f1)).toMatchObject({ state: 'CLOSED', consecutiveFailures: 0 });
  });

  it('N−1 consecutive failures leave it closed; the Nth opens it (admin, metrics, summary, log)', async () => {
    const labels = { service: 'thr', upstream: f1.hostPort };
    await f1.chaos({ down: true });
    for (let i = 0; i < 2; i++) expect((await get('thr', '/users')).status).toBe(503);
    expect(await breaker(gw, 'thr', f1)).toMatchObject({ state: 'CLOSED', consecutiveFailures: 2 });
    expect(await metric(gw, 'gateway_circuit_state', labels)).toBe(0);

    const third = await get('thr', '/users');
    expect(third.status).toBe(503);
    expect(third.text).toContain('instance is down'); // the upstream's own answer, passed through
    const b = await breaker(gw, 'thr', f1);
    expect(b.state).toBe('OPEN');
    expect(Date.parse(b.nextTrialAt!)).toBeGreaterThan(Date.now() + 50_000);
    expect(await metric(gw, 'gateway_circuit_state', labels)).toBe(2);
    expect(await metric(gw, 'gateway_circuit_transitions_total', { ...labels, from: 'closed', to: 'open' })).toBe(1);
    expect((await summary(gw)).circuit_breakers[`thr/${f1.hostPort}`]).toBe('OPEN');
    expect(
      await metric(gw, 'gateway_upstream_requests_total', { ...labels, outcome: 'http_5xx' }),
    ).toBeGreaterThanOrEqual(3);
    const logged = gw
      .logs()
      .filter((l) => l.event === 'breaker_transition' && l.service === 'thr' && l.upstream === f1.hostPort);
    expect(logged.map((l) => `${String(l.from)}->${String(l.to)}`)).toEqual(['closed->open']);
    expect(await hits(f1)).toBe(3);
  });

  it('fails fast while open: 503 CIRCUIT_OPEN with Retry-After, upstream untouched', async () => {
    await f1.chaos({ down: false }); // healthy again: only the circuit keeps requests away
    for (let i = 0; i < 10; i++) {
      const res = await get('thr', '/ok');
      expect(res.status).toBe(503);
      expect(problemCode(res)).toBe('CIRCUIT_OPEN');
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(55);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect(await hits(f1)).toBe(0);
    // Breakers are per service and instance: another service on the same upstream is unaffected.
    expect((await get('duo', '/ok')).status).toBe(200);
  });

  it('admin reset closes it; traffic flows again', async () => {
    const res = await resetBreakers(gw, 'thr');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ service: 'thr', reset: [`thr/${f1.hostPort}`] });
    expect(await breaker(gw, 'thr', f1)).toMatchObject({ state: 'CLOSED', consecutiveFailures: 0, nextTrialAt: null });
    expect(await metric(gw, 'gateway_circuit_state', { service: 'thr', upstream: f1.hostPort })).toBe(0);
    expect((await get('thr', '/ok')).status).toBe(200);
    expect(await hits(f1, '/ok')).toBe(1);
    expect((await resetBreakers(gw, 'nope')).status).toBe(404);
    const unauth = await request(`${gw.mgmtUrl}/admin/breakers/thr/reset`, { method: 'POST' });
    expect(unauth.status).toBe(401);
  });
});

describe('half-open', () => {
  async function openBrk(): Promise<void> {
    for (let i = 0; i < 3; i++) expect((await get('brk', '/fail?status=500')).status).toBe(500);
    expect((await breaker(gw, 'brk', f1)).state).toBe('OPEN');
  }

  it('lets exactly one trial through under 50 concurrent requests; successThreshold 2 closes it', async () => {
    await openBrk();
    await waitForState(gw, 'brk', f1, 'HALF_OPEN', 3000);
    await f1.resetCounts();
    const answers = await Promise.all(Array.from({ length: 50 }, () => get('brk', `/slow?ms=${TRIAL_MS}`)));
    const ok = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 503 && problemCode(r) === 'CIRCUIT_OPEN');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(49);
    expect(refused.every((r) => Number(r.headers['retry-after']) >= 1)).toBe(true);
    expect(await hits(f1)).toBe(1); // the upstream saw the one trial, nothing else

    // One success of two: still half-open.
    expect((await breaker(gw, 'brk', f1)).state).toBe('HALF_OPEN');
    expect(await metric(gw, 'gateway_circuit_state', { service: 'brk', upstream: f1.hostPort })).toBe(1);
    expect((await get('brk', '/ok')).status).toBe(200);
    expect((await breaker(gw, 'brk', f1)).state).toBe('CLOSED');
    const labels = { service: 'brk', upstream: f1.hostPort };
    expect(await metric(gw, 'gateway_circuit_transitions_total', { ...labels, from: 'open', to: 'half_open' })).toBe(1);
    expect(await metric(gw, 'gateway_circuit_transitions_total', { ...labels, from: 'half_open', to: 'closed' })).toBe(
      1,
    );
    expect(await hits(f1)).toBe(2);
  });

  it('a failed trial re-opens it and the wait starts again', async () => {
    for (let i = 0; i < 2; i++) expect((await get('reo', '/fail?status=500')).status).toBe(500);
    await waitForState(gw, 'reo', f1, 'HALF_OPEN', 3000);
    await f1.chaos({ down: true });
    await f1.resetCounts();
    const trial = await get('reo', '/ok');
    expect(trial.status).toBe(503);
    expect(problemCode(trial)).toBeUndefined(); // the upstream's 503, not the gateway's
    const b = await breaker(gw, 'reo', f1);
    expect(b.state).toBe('OPEN');
    const nextTrialAt = Date.parse(b.nextTrialAt!);
    expect(nextTrialAt).toBeGreaterThan(Date.now());
    const labels = { service: 'reo', upstream: f1.hostPort };
    expect(await metric(gw, 'gateway_circuit_transitions_total', { ...labels, from: 'half_open', to: 'open' })).toBe(1);

    await f1.chaos({ down: false }); // healthy again: only the re-opened circuit keeps requests away
    const sentAt = Date.now();
    const fast = await get('reo', '/ok');
    expect(sentAt).toBeLessThan(nextTrialAt);
    expect(problemCode(fast)).toBe('CIRCUIT_OPEN');
    expect(await hits(f1)).toBe(1);
    await resetBreakers(gw, 'reo');
  });
});

describe('every circuit open', () => {
  it('answers 503 CIRCUIT_OPEN with Retry-After until the first half-open, touching no upstream', async () => {
    await Promise.all([f1.chaos({ down: true }), f2.chaos({ down: true })]);
    // Round robin: two failures on each instance.
    for (let i = 0; i < 4; i++) expect((await get('duo', '/ok')).status).toBe(503);
    expect((await breaker(gw, 'duo', f1)).state).toBe('OPEN');
    expect((await breaker(gw, 'duo', f2)).state).toBe('OPEN');
    await Promise.all([f1.chaos({ down: false }), f2.chaos({ down: false })]);
    await Promise.all([f1.resetCounts(), f2.resetCounts()]);

    const res = await get('duo', '/ok');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 503, code: 'CIRCUIT_OPEN' });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(4);
    expect((await hits(f1)) + (await hits(f2))).toBe(0);

    expect((await resetBreakers(gw, 'duo')).json().reset).toHaveLength(2);
    expect((await get('duo', '/ok')).status).toBe(200);
  });

  it('one open instance of two: traffic goes to the other', async () => {
    await f1.chaos({ down: true });
    // Round robin until f1 has failed twice.
    while ((await breaker(gw, 'duo', f1)).state !== 'OPEN') await get('duo', '/ok');
    await f1.chaos({ down: false });
    await Promise.all([f1.resetCounts(), f2.resetCounts()]);
    for (let i = 0; i < 6; i++) {
      const res = await get('duo', '/ok');
      expect(res.status).toBe(200);
      expect(res.headers['x-instance-id']).toBe(`flaky-${f2.port}`);
    }
    expect(await hits(f1)).toBe(0);
    expect(await hits(f2)).toBe(6);
    await resetBreakers(gw, 'duo');
  });
});
