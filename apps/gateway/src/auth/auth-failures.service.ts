import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { type RateLimitPolicy } from '@app/config';
import { GatewayError } from '../common/gateway-error.js';
import { RateLimitStore } from '../rate-limit/rate-limit.store.js';
import { WWW_AUTHENTICATE } from './credentials.js';

/**
 * Wrong keys allowed per client IP: 10 at once, then one per 5 s. Fixed on purpose (no env
 * variable): generous for a client with a stale key, useless for guessing.
 */
export const AUTH_FAILURE_POLICY: RateLimitPolicy = Object.freeze({ capacity: 10, refillPerSecond: 0.2 });

/** IPs remembered as blocked, at most (an LRU: memory stays bounded under a spray of addresses). */
const MAX_BLOCKED = 10_000;

/**
 * Per-IP budget of failed key checks, drawn from the same {@link RateLimitStore} as the rate
 * limits (so it is fleet-wide with Redis), in its own key space (`authfail:`). When the bucket
 * refuses, the IP is blocked for the bucket's Retry-After: until then its key checks are
 * refused with 429 before any comparison, so a guesser cannot use 429-versus-200 as an oracle.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly blocked = new LRUCache<string, number>({ max: MAX_BLOCKED });

  constructor(private readonly store: RateLimitStore) {}

  /** The 429 to answer when `ip` is blocked now, else null. */
  blockedError(ip: string): GatewayError | null {
    if (this.blocked.size === 0) return null;
    const until = this.blocked.get(ip);
    if (until === undefined) return null;
    const left = until - Date.now();
    if (left <= 0) {
      this.blocked.delete(ip);
      return null;
    }
    return tooManyFailures(Math.ceil(left / 1000));
  }

  /**
   * Records a failed key check from `ip`; returns the error to answer: 401 while the IP has
   * budget left, 429 (and a block) once it has none.
   */
  async fail(ip: string): Promise<GatewayError> {
    const d = await this.store.take(`authfail:ip:${ip}`, AUTH_FAILURE_POLICY);
    if (d.allowed) return unauthorized('the API key is not valid');
    this.blocked.set(ip, Date.now() + d.retryAfterSeconds * 1000);
    return tooManyFailures(d.retryAfterSeconds);
  }
}

/** 401 UNAUTHORIZED with the challenge. */
export function unauthorized(detail: string): GatewayError {
  return new GatewayError('UNAUTHORIZED', detail, { 'WWW-Authenticate': WWW_AUTHENTICATE });
}

function tooManyFailures(retryAfterSeconds: number): GatewayError {
  return new GatewayError(
    'RATE_LIMITED',
    `too many invalid API keys from this address; retry in ${retryAfterSeconds} s`,
    {
      'Retry-After': String(retryAfterSeconds),
    },
  );
}
