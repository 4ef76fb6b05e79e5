import { type RetryOutcome, type RetryPolicy } from '@app/config';
import { UpstreamFailure } from '../common/gateway-error.js';
import { type UpstreamResponse } from '../proxy/proxy-result.js';

/** The `reason` label of `gateway_retries_total`, or null when the outcome is not retried. */
export function retryReason(
  result: { response: UpstreamResponse } | { error: unknown },
  retryOn: readonly RetryOutcome[],
): string | null {
  if ('response' in result) {
    return retryOn.includes(result.response.status) ? `http_${result.response.status}` : null;
  }
  const err = result.error;
  if (err instanceof UpstreamFailure) {
    if (err.kind === 'timeout') return retryOn.includes('timeout') ? 'timeout' : null;
    return retryOn.includes('connect-failure') ? 'connect_failure' : null;
  }
  return null;
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): a uniform draw in [0, min(cap, base × multiplier^attempt)].
 * @param attempt 0 for the first retry.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** attempt);
  return Math.floor(random() * ceiling);
}

const HTTP_DATE_START = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/**
 * An upstream's `Retry-After` (delta-seconds or HTTP-date) in ms, or null when absent/invalid.
 */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  const trimmed = v.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date starts with the day name (RFC 9110 §5.6.7); Date.parse alone takes "-5" for a year.
  if (!HTTP_DATE_START.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The wait before the next try: jittered backoff, or the upstream's Retry-After (capped). */
export function nextDelayMs(
  policy: RetryPolicy,
  attempt: number,
  upstreamRetryAfter: string | string[] | undefined,
  random: () => number = Math.random,
): number {
  const jittered = backoffMs(policy, attempt, random);
  const asked = retryAfterMs(upstreamRetryAfter);
  return asked === null ? jittered : Math.max(jittered, Math.min(asked, policy.maxBackoffMs));
}
