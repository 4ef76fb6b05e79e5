import { type RateLimitPolicy } from '@app/config';
import { RedisService } from '@app/redis';
import { Cluster } from 'ioredis';
import { startRedis, startRedisCluster } from '../../../../test/helpers/redis.js';
import { type RateLimitStore } from './rate-limit.store.js';
import { MemoryTokenBucketStore } from './token-bucket.memory-store.js';
import { RedisTokenBucketStore } from './token-bucket.redis-store.js';
import { TOKEN_BUCKET_SHA } from './token-bucket.lua.js';

/*
 * One bucket spec, three stores: memory, a real redis-server, a real 3-master Redis Cluster.
 * Time is real here (Redis takes it from TIME), so every assertion holds however slow the
 * machine is: "no refill" policies refill so slowly that elapsed time cannot add a token,
 * and "refill" checks wait longer than needed (more time only fills the bucket to capacity).
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const policy = (capacity: number, refillPerSecond: number): RateLimitPolicy => ({ capacity, refillPerSecond });

/** A connected RedisService (standalone or cluster), shut down after the file. */
async function connect(url: string, cluster: boolean): Promise<RedisService> {
  const redis = new RedisService({ url, cluster, keyPrefix: 'spec:', commandTimeoutMs: 5000 });
  let timer: NodeJS.Timeout | undefined;
  const up = new Promise<void>((resolve, reject) => {
    redis.onStateChange((u) => u && resolve());
    timer = setTimeout(() => reject(new Error(`Redis ${url} not up in 10 s`)), 10_000);
  });
  redis.onModuleInit();
  await up.finally(() => clearTimeout(timer));
  return redis;
}

interface Subject {
  store: RateLimitStore;
  /** The Redis behind it (null: memory). */
  redis: RedisService | null;
}

const subjects: Record<string, () => Promise<Subject>> = {
  memory: async () => ({ store: new MemoryTokenBucketStore(), redis: null }),
  'redis-server': async () => {
    const server = await startRedis();
    const redis = await connect(server.url, false);
    const store = new RedisTokenBucketStore(redis);
    await store.loadScript();
    return { store, redis };
  },
  'Redis Cluster (3 masters)': async () => {
    const cluster = await startRedisCluster({ masters: 3 });
    const redis = await connect(cluster.seeds, true);
    const store = new RedisTokenBucketStore(redis);
    await store.loadScript();
    return { store, redis };
  },
};

let seq = 0;
const freshKey = (): string => `spec:${process.pid}:${Date.now()}:${seq++}`;

describe.each(Object.keys(subjects))('token bucket: %s', (name) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await subjects[name]!();
  }, 30_000);
  // Before the harness stops the servers (its afterAll is the file's, which runs after this one).
  afterAll(() => subject.redis?.onApplicationShutdown());

  it('allows exactly `capacity` takes from a fresh bucket, counting down, then refuses', async () => {
    const key = freshKey();
    const p = policy(5, 0.001);
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await subject.store.take(key, p);
      expect(d.allowed).toBe(true);
      remaining.push(d.remaining);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const refused = await subject.store.take(key, p);
    expect(refused).toEqual({ allowed: false, remaining: 0, resetSeconds: 5000, retryAfterSeconds: 1000 });
  });

  it('reports fractional refill rates exactly: 0.5 token/s → Retry-After 2 s, full in 20 s', async () => {
    const key = freshKey();
    const p = policy(10, 0.5);
    for (let i = 0; i < 10; i++) expect((await subject.store.take(key, p)).allowed).toBe(true);
    const d = await subject.store.take(key, p);
    expect(d).toEqual({ allowed: false, remaining: 0, resetSeconds: 20, retryAfterSeconds: 2 });
  });

  it('takes `cost` tokens at once or none', async () => {
    const key = freshKey();
    const p = policy(5, 0.001);
    expect(await subject.store.take(key, p, 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(await subject.store.take(key, p, 3)).toMatchObject({
      allowed: false,
      remaining: 2,
      retryAfterSeconds: 1000,
    });
    expect(await subject.store.take(key, p, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('refills over time, continuously (a token every 80 ms at 12.5/s)', async () => {
    const key = freshKey();
    const p = policy(1, 12.5);
    expect((await subject.store.take(key, p)).allowed).toBe(true);
    await sleep(120);
    const d = await subject.store.take(key, p);
    expect(d.allowed).toBe(true);
    expect(d.remaining).toBe(0);
  });

  it('never refills past capacity', async () => {
    const key = freshKey();
    const p = policy(2, 100);
    expect(await subject.store.take(key, p)).toMatchObject({ allowed: true, remaining: 1 });
    await sleep(60); // ≥ 6 tokens' worth of time
    expect(await subject.store.take(key, p)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('keeps one bucket per key', async () => {
    const a = freshKey();
    const b = freshKey();
    const p = policy(1, 0.001);
    expect((await subject.store.take(a, p)).allowed).toBe(true);
    expect((await subject.store.take(a, p)).allowed).toBe(false);
    expect((await subject.store.take(b, p)).allowed).toBe(true);
  });

  it('is atomic: 200 concurrent takes against capacity 50 allow exactly 50', async () => {
    const key = freshKey();
    const p = policy(50, 0.001);
    const results = await Promise.all(Array.from({ length: 200 }, () => subject.store.take(key, p)));
    expect(results.filter((d) => d.allowed)).toHaveLength(50);
    expect(results.filter((d) => !d.allowed).every((d) => d.remaining === 0)).toBe(true);
    expect(new Set(results.filter((d) => d.allowed).map((d) => d.remaining)).size).toBe(50);
  });

  if (name === 'memory') return;

  describe('in Redis', () => {
    const redisOf = (): RedisService => subject.redis!;

    it('stores each bucket under <prefix>{key}: one hash-tagged key, with Redis TIME as its clock', async () => {
      const key = freshKey();
      const client = redisOf().client!;
      const [sBefore, usBefore] = (await client.time()) as [string, string] | [number, number];
      await subject.store.take(key, policy(5, 1));
      const [sAfter, usAfter] = (await client.time()) as [string, string] | [number, number];
      const bucket = await client.hgetall(`spec:{${key}}`);
      expect(Number(bucket.tokens)).toBeCloseTo(4, 6);
      const ts = Number(bucket.ts);
      expect(ts).toBeGreaterThanOrEqual(Number(sBefore) * 1000 + Math.floor(Number(usBefore) / 1000));
      expect(ts).toBeLessThanOrEqual(Number(sAfter) * 1000 + Math.floor(Number(usAfter) / 1000));
    });

    it('lets an idle bucket expire once it would be full again (PEXPIRE: refill time + 1 s)', async () => {
      const key = freshKey();
      await subject.store.take(key, policy(5, 10)); // 1 token missing: full in 100 ms
      const pttl = await redisOf().client!.pttl(`spec:{${key}}`);
      expect(pttl).toBeGreaterThan(900);
      expect(pttl).toBeLessThanOrEqual(1100);
    });

    it('survives a lost script cache (SCRIPT FLUSH → NOSCRIPT → EVAL) and caches the script again', async () => {
      const client = redisOf().client!;
      const nodes = client instanceof Cluster ? client.nodes('master') : [client];
      await Promise.all(nodes.map((n) => n.script('FLUSH')));
      const key = freshKey();
      expect(await subject.store.take(key, policy(3, 0.001))).toMatchObject({ allowed: true, remaining: 2 });
      expect(await subject.store.take(key, policy(3, 0.001))).toMatchObject({ allowed: true, remaining: 1 });
      const loaded = await Promise.all(nodes.map((n) => n.script('EXISTS', TOKEN_BUCKET_SHA) as Promise<number[]>));
      expect(loaded.some(([exists]) => exists === 1)).toBe(true);
    });
  });
});
