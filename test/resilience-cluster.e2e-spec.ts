// Fleet-wide breaker state on a Redis Cluster (REDIS_CLUSTER=true): the state hash, the pub/sub
// channel and the half-open trial leases work across a real 3-master cluster, as on one Redis.
import {
  type FlakyProc,
  type GatewayProc,
  request,
  startFlaky,
  startGateway,
  startRedisCluster,
} from './helpers/index.js';
import { breaker, GATEWAY_ENV, hits, metric, waitForState, waitUntil } from './resilience.helpers.js';

let flaky: FlakyProc;
let a: GatewayProc;
let b: GatewayProc;

beforeAll(async () => {
  const [cluster, upstream] = await Promise.all([startRedisCluster({ masters: 3 }), startFlaky()]);
  flaky = upstream;
  const routes = {
    services: {
      fleet: {
        instances: [flaky.url],
        timeoutMs: 2000,
        retry: { maxRetries: 0 },
        circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 600, halfOpenMaxRequests: 1, successThreshold: 1 },
      },
    },
  };
  const env = { ...GATEWAY_ENV, REDIS_URL: cluster.seeds, REDIS_CLUSTER: 'true', REDIS_COMMAND_TIMEOUT_MS: '1000' };
  [a, b] = await Promise.all([
    startGateway({ routes, env, waitReady: true }),
    startGateway({ routes, env, waitReady: true }),
  ]);
  for (const gw of [a, b]) {
    await waitUntil(
      `cluster up on :${gw.port}`,
      async () => (await metric(gw, 'gateway_redis_fallback_active')) === 0,
      5000,
    );
  }
});

const get = (gw: GatewayProc, path: string) => request(`${gw.url}/v1/proxy/fleet${path}`);

describe('two gateways on a 3-master Redis Cluster', () => {
  it('a circuit opened through A is open on B within 1 s, then one trial across both closes it everywhere', async () => {
    await flaky.chaos({ down: true });
    for (let i = 0; i < 2; i++) expect((await get(a, '/ok')).status).toBe(503);
    expect((await breaker(a, 'fleet', flaky)).state).toBe('OPEN');
    expect(await waitForState(b, 'fleet', flaky, 'OPEN', 1000)).toBeLessThanOrEqual(1000);

    await flaky.chaos({ down: false });
    await Promise.all([a, b].map((gw) => waitForState(gw, 'fleet', flaky, 'HALF_OPEN', 3000)));
    await flaky.resetCounts();
    // 20 concurrent requests across both gateways in half-open: the fleet lease lets one trial through
    // (it lasts 1.2 s, so every other request arrives while it runs, even on a busy machine).
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get(i % 2 === 0 ? a : b, '/slow?ms=1200')));
    expect(await hits(flaky)).toBe(1);
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    await Promise.all([a, b].map((gw) => waitForState(gw, 'fleet', flaky, 'CLOSED', 2000)));
  });
});
