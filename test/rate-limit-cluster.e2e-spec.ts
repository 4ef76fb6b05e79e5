// Two gateways on a real three-master Redis Cluster share each bucket exactly.
import {
  type FlakyProc,
  type GatewayProc,
  type RedisCluster,
  request,
  startFlaky,
  startGateway,
  startRedisCluster,
} from './helpers/index.js';
import { waitForRedisUp } from './rate-limit.helpers.js';

let flaky: FlakyProc;
let cluster: RedisCluster;
let a: GatewayProc;
let b: GatewayProc;

beforeAll(async () => {
  [flaky, cluster] = await Promise.all([startFlaky(), startRedisCluster({ masters: 3 })]);
  const routes = {
    services: { limited: { instances: [flaky.url], rateLimit: { capacity: 10, refillPerSecond: 0.001 } } },
  };
  // Generous command timeout: a loaded machine must not send this exactness check to the local fallback.
  const env = {
    REDIS_URL: cluster.seeds,
    REDIS_CLUSTER: 'true',
    REDIS_COMMAND_TIMEOUT_MS: '3000',
    SHUTDOWN_DRAIN_MS: '200',
  };
  [a, b] = await Promise.all([startGateway({ routes, env }), startGateway({ routes, env })]);
  await Promise.all([waitForRedisUp(a), waitForRedisUp(b)]);
}, 30_000);

it('shares one bucket across two gateways on a Redis Cluster: 30 concurrent requests, capacity 10, exactly 10 pass', async () => {
  const responses = await Promise.all(
    Array.from({ length: 30 }, (_, i) => request(`${(i % 2 ? a : b).url}/v1/proxy/limited/ok`)),
  );
  expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
  expect(responses.filter((r) => r.status === 429)).toHaveLength(20);
});

it('keeps the bucket under one hash-tagged key, on the master that owns its slot', async () => {
  const key = 'bw:{rl:limited:ip:127.0.0.1}';
  const node = cluster.nodes[0]!;
  expect(await node.cli('CLUSTER', 'KEYSLOT', key)).toBe(
    await node.cli('CLUSTER', 'KEYSLOT', 'rl:limited:ip:127.0.0.1'),
  );
  const holders = await Promise.all(
    cluster.nodes.map(async (n) => (await n.cli('--scan', '--pattern', 'bw:*')).split('\n').filter(Boolean)),
  );
  expect(holders.flat()).toEqual([key]);
});
