import { type RateLimitPolicy } from '@app/config';
import { type RateLimitDecision } from './rate-limit.store.js';

/* The structured-field headers of draft-ietf-httpapi-ratelimit-headers (-08 and later), CONTRACT §3. */

const policyHeaders = new WeakMap<RateLimitPolicy, string>();

/**
 * `RateLimit-Policy: "default";q=<capacity>;w=<seconds to refill from empty, rounded up>`.
 * Memoised per policy object (policies are frozen and live as long as their route table).
 * Without refill there is no window: `w` is left out.
 */
export function rateLimitPolicyHeader(policy: RateLimitPolicy): string {
  let value = policyHeaders.get(policy);
  if (value === undefined) {
    const q = Math.floor(policy.capacity);
    value =
      policy.refillPerSecond > 0
        ? `"default";q=${q};w=${Math.max(1, Math.ceil(policy.capacity / policy.refillPerSecond))}`
        : `"default";q=${q}`;
    policyHeaders.set(policy, value);
  }
  return value;
}

/**
 * `RateLimit: "default";r=<remaining>;t=<seconds>`: `t` is the time until the bucket is full
 * while tokens remain, and the time until the next token once it is empty (then `t` equals
 * `Retry-After`).
 */
export function rateLimitHeader(d: RateLimitDecision): string {
  return `"default";r=${d.remaining};t=${d.remaining > 0 ? d.resetSeconds : d.retryAfterSeconds}`;
}
