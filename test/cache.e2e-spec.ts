// Response cache (issue 7, CONTRACT §4): HIT/MISS/STALE, Cache-Control rules, Vary, consumers,
// stale-if-error, request coalescing, size caps, invalidation, and a cache shared through Redis.
import { request as undiciRequest } from 'undici';
import { jest } from '@jest/globals';
import {
  type FlakyProc,
  type GatewayProc,
  type HttpResponse,
  request,
  sleep,
  startFlaky,
  startGateway,
  startRedis,
  testAgent,
} from './helpers/index.js';

const KEYS: Record<string, string> = { alice: 'alice-key-0001', bob: 'bob-key-000002' };
const API_KEYS = Object.entries(KEYS)
  .map(([n, k]) => `${n}:${k}`)
  .join(',');
const ENTRY_CAP = 64 * 1024;

// Processes start on a shared, busy machine; each test's own waits stay in milliseconds.
jest.setTimeout(20_000);

let flaky: FlakyProc;
let fragile: FlakyProc;
let gw: GatewayProc;

beforeAll(async () => {
  [flaky, fragile] = await Promise.all([startFlaky(), startFlaky()]);
  const noRetry = { maxRetries: 0 };
  gw = await startGateway({
    routes: {
      services: {
        cached: { instances: [flaky.url], cache: { ttlSeconds: 1, staleIfErrorSeconds: 60 }, retry: noRetry },
        quick: { instances: [flaky.url], cache: { ttlSeconds: 0.05 }, retry: noRetry },
        shared: { instances: [flaky.url], cache: { ttlSeconds: 30, shareAcrossConsumers: true }, retry: noRetry },
        coal: { instances: [flaky.url], cache: { ttlSeconds: 30 }, retry: noRetry },
        plain: { instances: [flaky.url], retry: noRetry },
        fragile: {
          instances: [fragile.url],
          cache: { ttlSeconds: 0.2, staleIfErrorSeconds: 1.5 },
          retry: noRetry,
          circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 60_000 },
        },
      },
    },
    env: { RATE_LIMIT_ENABLED: 'false', API_KEYS, CACHE_MAX_ENTRY_BYTES: String(ENTRY_CAP) },
  });
}, 30_000);

function get(
  path: string,
  who = 'alice',
  headers: Record<string, string> = {},
  method: 'GET' | 'HEAD' | 'POST' = 'GET',
): Promise<HttpResponse> {
  return request(`${gw.url}/v1/proxy/${path}`, { method, headers: { 'x-api-key': KEYS[who]!, ...headers } });
}

function counter(res: HttpResponse): number {
  expect(res.status).toBe(200);
  return res.json<{ counter: number }>().counter;
}

async function upstreamCount(proc: FlakyProc, path: string): Promise<number> {
  return (await proc.counts()).counts[path] ?? 0;
}

/** `gateway_cache_lookups_total{service,result}` from the Prometheus text. */
async function lookups(service: string, result: string): Promise<number> {
  const text = (await request(`${gw.url}/metrics`)).text;
  for (const line of text.split('\n')) {
    const m = /^gateway_cache_lookups_total\{([^}]*)\} (\S+)$/.exec(line);
    if (m && m[1]!.includes(`service="${service}"`) && m[1]!.includes(`result="${result}"`)) return Number(m[2]);
  }
  return 0;
}

describe('freshness', () => {
  it('answers the second GET from the cache (X-Cache: HIT, Age), counted and logged', async () => {
    const hitsBefore = await lookups('cached', 'hit');
    const first = await get('cached/cache?maxAge=60&t=hit');
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await get('cached/cache?maxAge=60&t=hit');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(counter(second)).toBe(counter(first));
    expect(second.headers.age).toMatch(/^\d+$/);
    expect(second.headers['cache-control']).toBe('max-age=60'); // the upstream's, unchanged
    expect(await lookups('cached', 'hit')).toBe(hitsBefore + 1);
    expect(await lookups('cached', 'miss')).toBeGreaterThanOrEqual(1);
    const line = gw.logs().find((l) => l.event === 'request' && l.service === 'cached' && l.cache === 'HIT');
    expect(line).toBeDefined();
  });

  it('caches HEAD on its own key, and leaves services without a cache policy alone', async () => {
    const h1 = await get('cached/cache?maxAge=60&t=head', 'alice', {}, 'HEAD');
    const h2 = await get('cached/cache?maxAge=60&t=head', 'alice', {}, 'HEAD');
    expect([h1.headers['x-cache'], h2.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(h2.text).toBe('');
    expect((await get('cached/cache?maxAge=60&t=head')).headers['x-cache']).toBe('MISS'); // GET is another key
    const p1 = await get('plain/cache?maxAge=60&t=plain');
    const p2 = await get('plain/cache?maxAge=60&t=plain');
    expect(p2.headers['x-cache']).toBeUndefined();
    expect(counter(p2)).toBe(counter(p1) + 1);
  });

  it('misses again once the TTL is over (ttlSeconds when the upstream gives no freshness)', async () => {
    const a = await get('cached/cache?t=ttl');
    const b = await get('cached/cache?t=ttl');
    expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(counter(b)).toBe(counter(a));
    await sleep(1050); // ttlSeconds 1
    const c = await get('cached/cache?t=ttl');
    expect(c.headers['x-cache']).toBe('MISS');
    expect(counter(c)).toBeGreaterThan(counter(a));
  });

  it('lets the upstream max-age win over ttlSeconds', async () => {
    const a = await get('quick/cache?maxAge=30&t=explicit');
    await sleep(100); // past ttlSeconds 0.05, well within max-age=30
    const b = await get('quick/cache?maxAge=30&t=explicit');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(counter(b)).toBe(counter(a));
  });

  it.each([
    ['no-store', 'noStore=1&maxAge=60'],
    ['private', 'private=1&maxAge=60'],
    ['no-cache', 'noCache=1&maxAge=60'],
    ['Set-Cookie', 'setCookie=1&maxAge=60'],
    ['Vary: *', 'vary=*&maxAge=60'],
  ])('never stores a %s answer', async (_name, query) => {
    const a = await get(`cached/cache?${query}&t=refuse`);
    const b = await get(`cached/cache?${query}&t=refuse`);
    expect([a.headers['x-cache'], b.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(counter(b)).toBe(counter(a) + 1);
  });

  it('honours a client that asks for a fresh answer (Cache-Control: no-cache)', async () => {
    const a = await get('cached/cache?maxAge=60&t=client');
    const b = await get('cached/cache?maxAge=60&t=client', 'alice', { 'cache-control': 'no-cache' });
    expect(b.headers['x-cache']).toBe('MISS');
    expect(counter(b)).toBeGreaterThan(counter(a));
  });
});

describe('keys', () => {
  it('respects Vary: each value of the named request header has its own entry', async () => {
    const q = 'cached/cache?maxAge=60&vary=X-Lang&t=vary';
    const en = await get(q, 'alice', { 'x-lang': 'en' });
    const fr = await get(q, 'alice', { 'x-lang': 'fr' });
    expect(counter(fr)).not.toBe(counter(en));
    const en2 = await get(q, 'alice', { 'x-lang': 'en' });
    const fr2 = await get(q, 'alice', { 'x-lang': 'fr' });
    expect([en2.headers['x-cache'], fr2.headers['x-cache']]).toEqual(['HIT', 'HIT']);
    expect([counter(en2), counter(fr2)]).toEqual([counter(en), counter(fr)]);
    const none = await get(q);
    expect(none.headers['x-cache']).toBe('MISS');
    expect(counter(none)).toBeGreaterThan(counter(fr));
  });

  it('never shows one consumer an answer cached for another, unless shareAcrossConsumers', async () => {
    const a1 = await get('cached/cache?maxAge=60&t=consumers', 'alice');
    const b1 = await get('cached/cache?maxAge=60&t=consumers', 'bob');
    expect(b1.headers['x-cache']).toBe('MISS');
    expect(counter(b1)).not.toBe(counter(a1));
    const a2 = await get('cached/cache?maxAge=60&t=consumers', 'alice');
    const b2 = await get('cached/cache?maxAge=60&t=consumers', 'bob');
    expect([counter(a2), counter(b2)]).toEqual([counter(a1), counter(b1)]);

    const s1 = await get('shared/cache?maxAge=60&t=consumers', 'alice');
    const s2 = await get('shared/cache?maxAge=60&t=consumers', 'bob');
    expect(s2.headers['x-cache']).toBe('HIT');
    expect(counter(s2)).toBe(counter(s1));
  });

  it('drops the stored answer when a POST to the same path succeeds', async () => {
    const path = 'coal/echo/invalidate';
    expect((await get(path)).headers['x-cache']).toBe('MISS');
    expect((await get(path)).headers['x-cache']).toBe('HIT');
    const post = await get(path, 'alice', {}, 'POST');
    expect(post.status).toBe(200);
    expect(post.headers['x-cache']).toBeUndefined(); // BYPASS: no header
    expect((await get(path)).headers['x-cache']).toBe('MISS');
    expect(await lookups('coal', 'bypass')).toBe(1);
  });
});

describe('stale-if-error', () => {
  it('serves STALE while the upstream fails and its circuit is open, and refuses after staleIfErrorSeconds', async () => {
    const first = await get('fragile/cache?t=stale');
    expect(first.headers['x-cache']).toBe('MISS');
    const storedAt = Date.now();
    await fragile.chaos({ down: true }); // every answer 503
    await sleep(250); // past ttlSeconds 0.2

    const upstream503 = await get('fragile/cache?t=stale');
    expect(upstream503.headers['x-cache']).toBe('STALE');
    expect(counter(upstream503)).toBe(counter(first));
    expect(Number(upstream503.headers.age)).toBeGreaterThanOrEqual(0);

    // That 503 opened the circuit (failureThreshold 1): the next one fails fast and is served stale too.
    const before = await upstreamCount(fragile, '/cache');
    const open = await get('fragile/cache?t=stale');
    expect(open.headers['x-cache']).toBe('STALE');
    expect(counter(open)).toBe(counter(first));
    expect(await upstreamCount(fragile, '/cache')).toBe(before);
    const nothingStored = await get('fragile/cache?t=never-stored');
    expect(nothingStored.status).toBe(503);
    expect(nothingStored.json<{ code: string }>().code).toBe('CIRCUIT_OPEN');
    expect(await lookups('fragile', 'stale')).toBe(2);

    await sleep(Math.max(0, storedAt + 1800 - Date.now())); // freshness 0.2 s + staleIfErrorSeconds 1.5
    const late = await get('fragile/cache?t=stale');
    expect(late.status).toBe(503);
    expect(late.headers['x-cache']).toBeUndefined();
    expect(late.json<{ code: string }>().code).toBe('CIRCUIT_OPEN');
  });

  it('serves STALE when the upstream cannot be reached (502)', async () => {
    const gone = await startFlaky();
    const gw2 = await startGateway({
      routes: {
        services: {
          gone: {
            instances: [gone.url],
            cache: { ttlSeconds: 0.1, staleIfErrorSeconds: 30 },
            retry: { maxRetries: 0 },
          },
        },
      },
      env: { RATE_LIMIT_ENABLED: 'false' },
    });
    const first = await request(`${gw2.url}/v1/proxy/gone/cache`);
    expect(first.headers['x-cache']).toBe('MISS');
    await gone.kill();
    await sleep(150);
    const stale = await request(`${gw2.url}/v1/proxy/gone/cache`);
    expect(stale.status).toBe(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.text).toBe(first.text);
    const fresh = await request(`${gw2.url}/v1/proxy/gone/cache?other=1`);
    expect(fresh.status).toBe(502);
  });
});

describe('coalescing and size', () => {
  it('makes one upstream call for 20 concurrent misses of one key', async () => {
    const before = await upstreamCount(flaky, '/slow');
    const all = await Promise.all(Array.from({ length: 20 }, () => get('coal/slow?ms=400&t=coalesce')));
    expect(all.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await upstreamCount(flaky, '/slow')).toBe(before + 1);
    const outcomes = all.map((r) => r.headers['x-cache']).sort();
    expect(outcomes).toEqual([...Array(19).fill('HIT'), 'MISS']);
    expect(new Set(all.map((r) => r.text)).size).toBe(1);
  });

  it('sends concurrent requests upstream themselves when the answer is not storable', async () => {
    const all = await Promise.all(Array.from({ length: 10 }, () => get('coal/cache?noStore=1&t=not-storable')));
    const counters = all.map(counter);
    expect(new Set(counters).size).toBe(10); // no one was handed another request's answer
    expect(all.every((r) => r.headers['x-cache'] === 'MISS')).toBe(true);
  });

  it('streams answers over the per-entry cap through untouched, known length or not', async () => {
    const pattern = (n: number): string => 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(n / 26)).slice(0, n);
    const n = ENTRY_CAP * 3;
    const before = await upstreamCount(flaky, '/bytes');
    for (let i = 0; i < 2; i++) {
      const big = await get(`coal/bytes?n=${n}`);
      expect(big.headers['x-cache']).toBe('MISS');
      expect(big.text === pattern(n)).toBe(true);
      const chunked = await get(`coal/stream?n=${n}&chunk=4096`);
      expect(chunked.headers['x-cache']).toBe('MISS');
      expect(chunked.text === pattern(n)).toBe(true);
    }
    expect(await upstreamCount(flaky, '/bytes')).toBe(before + 2);
    // Below the cap the same endpoints are cached.
    await get('coal/stream?n=1000&chunk=100');
    expect((await get('coal/stream?n=1000&chunk=100')).headers['x-cache']).toBe('HIT');
  });

  it('passes each chunk on as it comes (a never-ending body is not held back)', async () => {
    const res = await undiciRequest(`${gw.url}/v1/proxy/coal/endless?intervalMs=1`, {
      headers: { 'x-api-key': KEYS.alice! },
      dispatcher: testAgent(),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-cache']).toBe('MISS');
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      if (received >= ENTRY_CAP + 16 * 1024) break; // past the cap too: still flowing
    }
    res.body.destroy();
    expect(received).toBeGreaterThanOrEqual(ENTRY_CAP + 16 * 1024);
  });
});

describe('shared through Redis', () => {
  it('lets a second gateway answer from what the first stored, and serves misses while Redis is down', async () => {
    const redis = await startRedis();
    const routes = {
      services: { cat: { instances: [flaky.url], cache: { ttlSeconds: 30 }, retry: { maxRetries: 0 } } },
    };
    const env = { RATE_LIMIT_ENABLED: 'false', REDIS_URL: redis.url };
    const [one, two] = await Promise.all([
      startGateway({ routes, env, waitReady: true }),
      startGateway({ routes, env, waitReady: true }),
    ]);
    // The entry is written as the body ends; wait for the write before asking the other replica.
    const stored = async (n: number): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const keys = (await redis.cli('--scan', '--pattern', 'bw:cache:*')).split('\n').filter(Boolean);
        if (keys.length >= n) return;
        await sleep(10);
      }
      throw new Error(`fewer than ${n} cache keys in Redis`);
    };
    const a = await request(`${one.url}/v1/proxy/cat/cache?maxAge=60&t=redis`);
    expect(a.headers['x-cache']).toBe('MISS');
    await stored(1);
    let b = await request(`${two.url}/v1/proxy/cat/cache?maxAge=60&t=redis`);
    expect(b.headers['x-cache']).toBe('HIT');
    expect(counter(b)).toBe(counter(a));
    // Vary entries are shared too (a marker at the primary key + the variant).
    await request(`${one.url}/v1/proxy/cat/cache?maxAge=60&vary=X-Lang&t=redis`, { headers: { 'x-lang': 'de' } });
    await stored(3);
    b = await request(`${two.url}/v1/proxy/cat/cache?maxAge=60&vary=X-Lang&t=redis`, { headers: { 'x-lang': 'de' } });
    expect(b.headers['x-cache']).toBe('HIT');

    await redis.kill();
    for (let i = 0; i < 2; i++) {
      const down = await request(`${one.url}/v1/proxy/cat/cache?maxAge=60&t=redis-down`, { timeoutMs: 3000 });
      expect(down.status).toBe(200);
      expect(down.headers['x-cache']).toBe('MISS');
    }
  });
});
