import { type RateLimitPolicy } from '@app/config';
import { type RedisService } from '@app/redis';
import { type RateLimitDecision, RateLimitStore } from './rate-limit.store.js';

/** After a failed or timed-out Redis call, stay local this long before trying Redis again. */
export const FALLBACK_COOLDOWN_MS = 1000;

/**
 * Redis while it is up, this replica's memory buckets at once when it is not: no request
 * waits on or fails because of Redis. "Not up" is the connection state ({@link RedisService.up},
 * which a heartbeat keeps honest) or a call that just failed or timed out (then local for
 * {@link FALLBACK_COOLDOWN_MS}, or until Redis reports up again). Back to Redis by itself.
 */
export class FallbackRateLimitStore extends RateLimitStore {
  private localUntil = 0;

  constructor(
    private readonly shared: RateLimitStore,
    private readonly local: RateLimitStore,
    private readonly redis: Pick<RedisService, 'up' | 'onStateChange'>,
    private readonly cooldownMs = FALLBACK_COOLDOWN_MS,
  ) {
    super();
    // A connection that has just become ready (or answers the heartbeat again) ends the cooldown.
    redis.onStateChange((up) => {
      if (up) this.localUntil = 0;
    });
  }

  /** Whether takes go to the local store now. */
  get usingLocal(): boolean {
    if (!this.redis.up) return true;
    if (this.localUntil === 0) return false;
    if (performance.now() < this.localUntil) return true;
    this.localUntil = 0;
    return false;
  }

  take(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    if (this.usingLocal) return this.local.take(key, policy, cost);
    return this.shared.take(key, policy, cost).catch(() => {
      this.localUntil = performance.now() + this.cooldownMs;
      return this.local.take(key, policy, cost);
    });
  }
}
