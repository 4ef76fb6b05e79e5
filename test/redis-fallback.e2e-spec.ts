// Redis killed mid-run: two gateways keep serving with local buckets, say so (metrics, log,
// readiness), and go back to shared buckets by themselves when Redis returns on the same port.
import {
  type FlakyProc,
  type GatewayProc,
  type HttpResponse,
  type RedisProc,
  request,
  sleep,
  startFlaky,
  startGateway,
  startRedis,
} from './helpers/index.js';
import { metricValue, waitForRedisStatus, waitForRedisUp } from './rate-limit.helpers.js';

let flaky: FlakyProc;
let redis: RedisProc;
let a: GatewayProc;
let b: GatewayProc;

beforeAll(async () => {
  [flaky, redis] = await Promise.all([startFlaky(), startRedis()]);
  const routes = {
    services: {
      limited: { instances: [flaky.url], rateLimit: { capacity: 5, refillPerSecond: 0.001 } },
      busy: { instances: [flaky.url], rateLimit: { capacity: 100_000, refillPerSecond: 1000 } },
    },
  };
  const env = { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '3000', SHUTDOWN_DRAIN_MS: '200' };
  [a, b] = await Promise.all([startGateway({ routes, env }), startGateway({ routes, env })]);
  await Promise.all([waitForRedisUp(a), waitForRedisUp(b)]);
}, 30_000);

const get = (gw: GatewayProc, service: string): Promise<HttpResponse> => request(`${gw.url}/v1/proxy/${service}/ok`);

/** 3 requests through each gateway, interleaved; resolves how many passed. */
async function sixAcrossBoth(): Promise<number> {
  let passed = 0;
  for (let i = 0; i < 6; i++) {
    const res = await get(i % 2 ? b : a, 'limited');
    expect([200, 429]).toContain(res.status);
    if (res.status === 200) passed++;
  }
  return passed;
}

const events = (gw: GatewayProc, type: string): number => gw.logs().filter((l) => l.event === type).length;
const fallbackGauge = async (gw: GatewayProc): Promise<number> =>
  metricValue((await request(`${gw.url}/metrics`)).text, 'gateway_redis_fallback_active');

it('shares the bucket while Redis is up: capacity 5, six requests over two gateways, five pass', async () => {
  expect(await sixAcrossBoth()).toBe(5);
  expect(await fallbackGauge(a)).toBe(0);
});

it('keeps serving when Redis is killed mid-run, with local buckets, and says so once', async () => {
  // Traffic on both gateways while Redis dies under it: every request is answered 200.
  const statuses: number[] = [];
  let stop = false;
  const traffic = (async () => {
    for (let i = 0; !stop || i < 40; i++) statuses.push((await get(i % 2 ? b : a, 'busy')).status);
  })();
  await sleep(30);
  await redis.kill();
  await Promise.all([waitForRedisStatus(a, 'degraded'), waitForRedisStatus(b, 'degraded')]);
  await sleep(300); // several reconnect attempts: none may log a second "lost"
  stop = true;
  await traffic;
  expect(statuses.length).toBeGreaterThanOrEqual(40);
  expect(new Set(statuses)).toEqual(new Set([200]));

  for (const gw of [a, b]) {
    const ready = await request(`${gw.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ details: { redis: { status: 'degraded' } } });
    expect(await fallbackGauge(gw)).toBe(1);
    expect(events(gw, 'redis_lost')).toBe(1);
    expect(gw.logs().find((l) => l.event === 'redis_lost')).toMatchObject({ level: 'warn' });
  }

  // Local buckets: each replica has its own, full (5), whatever Redis held.
  const local: number[] = [];
  for (let i = 0; i < 6; i++) local.push((await get(a, 'limited')).status);
  expect(local).toEqual([200, 200, 200, 200, 200, 429]);
});

it('returns to shared buckets by itself when Redis restarts on the same port (no gateway restart)', async () => {
  await redis.spawn(); // same port, empty
  await Promise.all([waitForRedisUp(a), waitForRedisUp(b)]);
  for (const gw of [a, b]) {
    expect(await fallbackGauge(gw)).toBe(0);
    expect(events(gw, 'redis_recovered')).toBe(1);
  }
  // Redis is empty again: one fresh shared bucket of 5. Local buckets would give 0 (a's is
  // spent) + 3 (b's) = 3; shared gives exactly 5.
  expect(await sixAcrossBoth()).toBe(5);
  expect(await redis.cli('EXISTS', 'bw:{rl:limited:ip:127.0.0.1}')).toBe('1');
});
