import { type RateLimitPolicy } from '@app/config';

/** The answer of one {@link RateLimitStore.take}. */
export interface RateLimitDecision {
  /** The tokens were taken. */
  readonly allowed: boolean;
  /** Whole tokens left after this take. */
  readonly remaining: number;
  /** Seconds (rounded up) until the bucket is full again. */
  readonly resetSeconds: number;
  /** Seconds (rounded up) until a take of the same cost would succeed; 0 when it would now. */
  readonly retryAfterSeconds: number;
}

/**
 * A token-bucket store: `capacity` tokens, refilled continuously at `refillPerSecond`
 * (fractions included), one bucket per key. Two implementations with the same semantics and
 * the same spec: Redis (shared by every replica; atomic Lua) and memory (one replica).
 *
 * An abstract class rather than an interface so that it can be the injection token.
 */
export abstract class RateLimitStore {
  /**
   * Takes `cost` tokens from the bucket `key` if it holds that many; never partially.
   * @param key the bucket's logical name, e.g. `rl:flaky:ip:10.0.0.1` (stores add their own prefix)
   * @default cost 1
   */
  abstract take(key: string, policy: RateLimitPolicy, cost?: number): Promise<RateLimitDecision>;
}
