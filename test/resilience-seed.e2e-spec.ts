// The seed scenario of issue 6 ("Done when"), scaled down: the demo's shape (two flaky-upstream instances
// failing ~20 % and delaying ~20 %, a route mount, retries, breakers), a few requests a second, all 200.
// FLAKY_SEED fixes each upstream's sequence and the requests go one after another, so the run is
// deterministic: the same tries fail every time.
import { type FlakyProc, type GatewayProc, request, sleep, startFlaky, startGateway } from './helpers/index.js';
import { GATEWAY_ENV, metric, summary } from './resilience.helpers.js';

const REQUESTS = 24;
const PER_SECOND = 8;

let f1: FlakyProc;
let f2: FlakyProc;
let gw: GatewayProc;

beforeAll(async () => {
  // Defaults of CONTRACT §6: failure rate 0.2, delay rate 0.2; the delay shortened from 3 s to 50 ms.
  [f1, f2] = await Promise.all([
    startFlaky({ env: { FLAKY_SEED: '42', FLAKY_DELAY_MS: '50', INSTANCE_ID: 'flaky-1' } }),
    startFlaky({ env: { FLAKY_SEED: '7', FLAKY_DELAY_MS: '50', INSTANCE_ID: 'flaky-2' } }),
  ]);
  gw = await startGateway({
    // config/gateway.yaml's `flaky` service and route, times scaled like the delay.
    routes: {
      services: {
        flaky: {
          instances: [f1.url, f2.url],
          timeoutMs: 200, // per try: above the upstream's 50 ms delay, so slow answers still count
          totalTimeoutMs: 5000,
          retry: {
            maxRetries: 3,
            initialBackoffMs: 20,
            multiplier: 2,
            maxBackoffMs: 200,
            retryOn: ['connect-failure', 'timeout', 502, 503, 504],
            budget: { ratio: 0.2, minPerSecond: 10 },
          },
          circuitBreaker: { failureThreshold: 5, resetTimeoutMs: 10_000, halfOpenMaxRequests: 1, successThreshold: 1 },
        },
      },
      routes: [{ path: '/api/v1/data', service: 'flaky', rewrite: '/flaky-data' }],
    },
    env: GATEWAY_ENV,
  });
});

it('a few requests a second to /api/v1/data all answer 200 while the upstreams fail ~20 %', async () => {
  const start = Date.now();
  const bodies: { data: string; instance: string; delayed?: boolean }[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    await sleep(Math.max(0, start + (i * 1000) / PER_SECOND - Date.now()));
    const res = await request(`${gw.url}/api/v1/data`);
    expect({ i, status: res.status, text: res.status === 200 ? '' : res.text }).toEqual({ i, status: 200, text: '' });
    bodies.push(res.json());
  }
  expect(bodies.every((b) => b.data === 'ok')).toBe(true);
  expect(new Set(bodies.map((b) => b.instance))).toEqual(new Set(['flaky-1', 'flaky-2']));
  expect(bodies.some((b) => b.delayed)).toBe(true); // delayed answers came through, not timed out

  // The upstreams' own counts: some of their answers were failures the client never saw.
  const served = (await f1.counts()).counts['/flaky-data']! + (await f2.counts()).counts['/flaky-data']!;
  const failed = await metric(gw, 'gateway_upstream_requests_total', { service: 'flaky', outcome: 'http_5xx' });
  expect(failed).toBeGreaterThan(0);
  expect(served).toBe(REQUESTS + failed);
  expect(failed / served).toBeGreaterThan(0.05);
  expect(failed / served).toBeLessThan(0.4);

  // The JSON summary shows the retries and every breaker's state.
  const s = await summary(gw);
  expect(s.total_retries).toBe(failed);
  expect(s.total_requests).toBeGreaterThanOrEqual(REQUESTS);
  expect(s.circuit_breakers).toEqual({ [`flaky/${f1.hostPort}`]: 'CLOSED', [`flaky/${f2.hostPort}`]: 'CLOSED' });
  expect(await metric(gw, 'gateway_retries_total', { service: 'flaky', reason: 'http_503' })).toBe(failed);
});
