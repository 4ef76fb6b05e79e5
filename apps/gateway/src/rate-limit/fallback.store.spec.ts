import { RedisService } from '@app/redis';
import { startRedis, type RedisProc } from '../../../../test/helpers/redis.js';
import { FallbackRateLimitStore } from './fallback.store.js';
import { MemoryTokenBucketStore } from './token-bucket.memory-store.js';
import { RedisTokenBucketStore } from './token-bucket.redis-store.js';

/* The fallback against a real redis-server that is killed, restarted and paused mid-run. */

const p = { capacity: 100, refillPerSecond: 0.001 };

describe('FallbackRateLimitStore', () => {
  let server: RedisProc;
  let redis: RedisService;
  let local: MemoryTokenBucketStore;
  let store: FallbackRateLimitStore;

  beforeEach(async () => {
    server = await startRedis();
    redis = new RedisService({
      url: server.url,
      cluster: false,
      keyPrefix: 'fb:',
      commandTimeoutMs: 150,
      heartbeatMs: 100,
    });
    redis.onModuleInit();
    local = new MemoryTokenBucketStore();
    const shared = new RedisTokenBucketStore(redis);
    shared.onModuleInit();
    store = new FallbackRateLimitStore(shared, local, redis, 1000);
    await until(() => redis.up);
  });
  afterEach(() => redis.onApplicationShutdown());

  async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
    const start = Date.now();
    while (!(await cond())) {
      if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const inRedis = async (key: string): Promise<boolean> => (await server.cli('EXISTS', `fb:{${key}}`)) === '1';

  it('uses Redis while it is up', async () => {
    expect(await store.take('a', p)).toMatchObject({ allowed: true, remaining: 99 });
    expect(await inRedis('a')).toBe(true);
    expect(local.size).toBe(0);
  });

  it('answers from memory at once while Redis is dead, and from Redis again after its restart', async () => {
    await store.take('k', p);
    await server.kill();
    await until(() => !redis.up);
    const start = performance.now();
    const during = await Promise.all(Array.from({ length: 20 }, () => store.take('k', p)));
    expect(performance.now() - start).toBeLessThan(500); // well under one command timeout
    expect(during.every((d) => d.allowed)).toBe(true);
    expect(local.size).toBe(1); // per-replica bucket: starts full
    expect(during.at(-1)!.remaining).toBe(80);

    await server.restart(); // same port, empty
    await until(() => redis.up);
    await until(() => !store.usingLocal);
    expect(await store.take('k', p)).toMatchObject({ allowed: true, remaining: 99 });
    expect(await inRedis('k')).toBe(true);
  });

  it('does not wait on a Redis that hangs: one timed-out take falls back, the next ones do not wait', async () => {
    await store.take('h', p);
    server.pause();
    try {
      const t0 = performance.now();
      const first = await store.take('h', p);
      const t1 = performance.now();
      const second = await store.take('h', p);
      const t2 = performance.now();
      expect(first.allowed && second.allowed).toBe(true);
      expect(t1 - t0).toBeLessThan(500 + 400); // the command timeout, and not much more
      expect(t2 - t1).toBeLessThan(250); // in cooldown (or the heartbeat saw it): local, no second timeout
      expect(store.usingLocal).toBe(true);
    } finally {
      server.resume();
    }
    await until(() => !store.usingLocal);
    expect(await store.take('h', p)).toMatchObject({ allowed: true });
    expect(await server.cli('HGET', 'fb:{h}', 'tokens')).toMatch(/^9[78](\.|$)/);
  });
});
