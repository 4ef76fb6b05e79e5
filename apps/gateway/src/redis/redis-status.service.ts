import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { RedisService } from '@app/redis';
import { GatewayEvents } from '../events/gateway-events.service.js';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * What the gateway makes of Redis's state: while Redis is configured but not up, shared state
 * is served from local fallbacks. Reports each outage once (`redis_lost` event and log line,
 * `gateway_redis_fallback_active 1`) and its end (`redis_recovered`, gauge 0). Readiness
 * reads {@link fallbackActive} ("degraded").
 */
@Injectable()
export class RedisStatus implements OnModuleInit {
  private outage = false;

  constructor(
    private readonly redis: RedisService,
    private readonly events: GatewayEvents,
    private readonly metrics: MetricsService,
  ) {}

  /** Redis is configured and unreachable: local state serves (readiness: degraded). */
  get fallbackActive(): boolean {
    return this.outage;
  }

  onModuleInit(): void {
    if (!this.redis.enabled) return;
    this.redis.onStateChange((up) => (up ? this.recovered() : this.lost()));
  }

  private lost(): void {
    if (this.outage) return;
    this.outage = true;
    this.metrics.setRedisFallback(true);
    this.events.emit({ type: 'redis_lost', detail: this.redis.lastError ?? undefined });
  }

  private recovered(): void {
    if (!this.outage) return;
    this.outage = false;
    this.metrics.setRedisFallback(false);
    this.events.emit({ type: 'redis_recovered' });
  }
}

/** Provides {@link RedisStatus} (global: health reads it). */
@Global()
@Module({ providers: [RedisStatus], exports: [RedisStatus] })
export class RedisStatusModule {}
