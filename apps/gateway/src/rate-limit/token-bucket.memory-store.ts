import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { type RateLimitPolicy } from '@app/config';
import { type RateLimitDecision, RateLimitStore } from './rate-limit.store.js';
import { decision, EPSILON } from './token-bucket.js';

/** Buckets kept at most: ~100 bytes each, so the heap stays bounded whatever the number of clients. */
export const MEMORY_STORE_MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  /** Last refill, in the clock's milliseconds (whole). */
  ts: number;
}

/** Milliseconds, monotonic: a wall-clock step must not refill or drain buckets. */
export type Clock = () => number;
const monotonicMs: Clock = () => Math.floor(performance.now());

/**
 * Token buckets in this process's memory: the embedded default, and the per-replica fallback
 * while Redis is away. Same semantics as the Redis script (whole-millisecond time, fractional
 * refill). Bounded by an LRU: past `maxBuckets` the least recently used bucket is dropped,
 * which only forgets a client (it starts again with a full bucket, as a new client would).
 */
@Injectable()
export class MemoryTokenBucketStore extends RateLimitStore {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    maxBuckets: number = MEMORY_STORE_MAX_BUCKETS,
    private readonly clock: Clock = monotonicMs,
  ) {
    super();
    this.buckets = new LRUCache<string, Bucket>({ max: maxBuckets });
  }

  /** Buckets currently held. */
  get size(): number {
    return this.buckets.size;
  }

  take(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    return Promise.resolve(this.takeNow(key, policy, cost));
  }

  /** {@link take}, synchronously. */
  takeNow(key: string, policy: RateLimitPolicy, cost = 1): RateLimitDecision {
    const now = this.clock();
    const capacity = policy.capacity;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: capacity, ts: now };
      this.buckets.set(key, bucket);
    } else {
      const elapsed = now > bucket.ts ? now - bucket.ts : 0;
      bucket.tokens = Math.min(capacity, bucket.tokens + (elapsed * policy.refillPerSecond) / 1000);
      if (now > bucket.ts) bucket.ts = now;
    }
    const allowed = bucket.tokens + EPSILON >= cost;
    if (allowed) bucket.tokens -= cost;
    return decision(allowed, bucket.tokens, policy, cost);
  }
}
