import { MEMORY_STORE_MAX_BUCKETS, MemoryTokenBucketStore } from './token-bucket.memory-store.js';

/* What only the memory store can show exactly: its clock is injectable, its size observable. */

describe('MemoryTokenBucketStore', () => {
  let now = 1_000_000;
  const clock = (): number => now;

  it('refills continuously and fractionally, to the millisecond', () => {
    const store = new MemoryTokenBucketStore(10, clock);
    const p = { capacity: 2, refillPerSecond: 2.5 }; // a token every 400 ms
    expect(store.takeNow('k', p)).toEqual({ allowed: true, remaining: 1, resetSeconds: 1, retryAfterSeconds: 0 });
    expect(store.takeNow('k', p)).toEqual({ allowed: true, remaining: 0, resetSeconds: 1, retryAfterSeconds: 1 });
    now += 399;
    expect(store.takeNow('k', p)).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    now += 1;
    expect(store.takeNow('k', p)).toMatchObject({ allowed: true, remaining: 0 });
    now += 10_000;
    expect(store.takeNow('k', p)).toMatchObject({ allowed: true, remaining: 1 }); // capped at capacity
  });

  it('answers Retry-After and reset in whole seconds, rounded up', () => {
    const store = new MemoryTokenBucketStore(10, clock);
    const p = { capacity: 3, refillPerSecond: 0.25 }; // a token every 4 s
    for (let i = 0; i < 3; i++) store.takeNow('r', p);
    expect(store.takeNow('r', p)).toEqual({ allowed: false, remaining: 0, resetSeconds: 12, retryAfterSeconds: 4 });
    now += 2500; // 0.625 token
    expect(store.takeNow('r', p)).toEqual({ allowed: false, remaining: 0, resetSeconds: 10, retryAfterSeconds: 2 });
  });

  it('never refills a bucket whose policy has no refill, and says "a day" rather than forever', () => {
    const store = new MemoryTokenBucketStore(10, clock);
    const p = { capacity: 1, refillPerSecond: 0 };
    expect(store.takeNow('z', p).allowed).toBe(true);
    now += 3_600_000;
    expect(store.takeNow('z', p)).toEqual({
      allowed: false,
      remaining: 0,
      resetSeconds: 86_400,
      retryAfterSeconds: 86_400,
    });
  });

  it('does not refill when the clock stands still or steps back', () => {
    const store = new MemoryTokenBucketStore(10, clock);
    const p = { capacity: 1, refillPerSecond: 1 };
    store.takeNow('b', p);
    now -= 5000;
    expect(store.takeNow('b', p).allowed).toBe(false);
    now += 5000;
    expect(store.takeNow('b', p).allowed).toBe(false);
    now += 1000;
    expect(store.takeNow('b', p).allowed).toBe(true);
  });

  it('stays bounded: 250 000 distinct clients leave at most MEMORY_STORE_MAX_BUCKETS buckets', () => {
    const store = new MemoryTokenBucketStore();
    const p = { capacity: 5, refillPerSecond: 1 };
    for (let i = 0; i < 250_000; i++) store.takeNow(`ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, p);
    expect(MEMORY_STORE_MAX_BUCKETS).toBe(100_000);
    expect(store.size).toBe(MEMORY_STORE_MAX_BUCKETS);
  });

  it('forgets the least recently used client first (it comes back with a full bucket)', () => {
    const store = new MemoryTokenBucketStore(2, clock);
    const p = { capacity: 1, refillPerSecond: 0 };
    store.takeNow('a', p);
    store.takeNow('b', p);
    expect(store.takeNow('a', p).allowed).toBe(false); // a is now the most recent
    store.takeNow('c', p); // evicts b
    expect(store.takeNow('a', p).allowed).toBe(false);
    expect(store.takeNow('b', p).allowed).toBe(true);
  });
});
