import { type RateLimitPolicy } from '@app/config';
import { type RateLimitDecision } from './rate-limit.store.js';

/** Float slack: refill arithmetic may leave 0.9999999 where 1 token was meant. */
export const EPSILON = 1e-9;

/** A bucket that never refills answers "retry in a day" (a finite, honest Retry-After). */
export const NO_REFILL_SECONDS = 86_400;

/**
 * The decision after a take, from the tokens left in the bucket. Shared by both stores so the
 * two cannot drift: the Redis script returns `tokensLeft` and computes nothing else.
 */
export function decision(
  allowed: boolean,
  tokensLeft: number,
  policy: RateLimitPolicy,
  cost: number,
): RateLimitDecision {
  const rate = policy.refillPerSecond;
  const missingForFull = policy.capacity - tokensLeft;
  const missingForNext = cost - tokensLeft;
  return {
    allowed,
    remaining: Math.max(0, Math.floor(tokensLeft + EPSILON)),
    resetSeconds: secondsFor(missingForFull, rate),
    retryAfterSeconds: secondsFor(missingForNext, rate),
  };
}

function secondsFor(missing: number, rate: number): number {
  if (missing <= EPSILON) return 0;
  if (rate <= 0) return NO_REFILL_SECONDS;
  return Math.min(NO_REFILL_SECONDS, Math.ceil(missing / rate - EPSILON));
}
