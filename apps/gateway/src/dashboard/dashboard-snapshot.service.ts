import { Inject, Injectable } from '@nestjs/common';
import { register } from 'prom-client';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { ShutdownState } from '../health/shutdown-state.service.js';
import { M } from '../metrics/metrics.definitions.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { BreakerRegistry } from '../resilience/breaker-registry.service.js';
import { RouteTable } from '../routing/route-table.service.js';
import { DrillService, type DrillStatus } from './drill.service.js';
import { type TrafficSample } from './traffic-sampler.js';

/** One breaker as the page shows it. */
export interface BreakerView {
  readonly id: string;
  readonly service: string;
  readonly upstream: string;
  readonly state: 'CLOSED' | 'HALF_OPEN' | 'OPEN';
  readonly consecutiveFailures: number;
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  /** Open: ms until the next trial, as of {@link DashboardSnapshot.t} (the page counts down from arrival). */
  readonly msToTrial: number | null;
  readonly nextTrialAt: string | null;
}

/** What every viewer receives once a second (SSE `snapshot`). */
export interface DashboardSnapshot {
  /** Tick number: all viewers get the same one per tick. */
  readonly seq: number;
  /** Server time (epoch ms). */
  readonly t: number;
  readonly store: 'redis' | 'embedded';
  /** Redis configured but unreachable: local state serves. */
  readonly redisFallback: boolean;
  readonly config: { readonly version: string; readonly source: string | null };
  readonly services: readonly { name: string; instances: number; auth: string }[];
  readonly breakers: readonly BreakerView[];
  /** Totals since start (the `/metrics` JSON summary). */
  readonly totals: {
    readonly requests: number;
    readonly retries: number;
    readonly rateLimitAllowed: number;
    readonly rateLimitBlocked: number;
    readonly cacheHits: number;
  };
  /** Rates over the last tick (null on the first tick). */
  readonly sample: TrafficSample | null;
  readonly drill: DrillStatus;
  readonly viewers: number;
  readonly draining: boolean;
}

/** Builds snapshots from the live services; cheap enough to run once a second for everyone. */
@Injectable()
export class DashboardSnapshots {
  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly table: RouteTable,
    private readonly breakers: BreakerRegistry,
    private readonly metrics: MetricsService,
    private readonly drill: DrillService,
    private readonly shutdown: ShutdownState,
  ) {}

  async compose(
    seq: number,
    sample: TrafficSample | null,
    viewers: number,
    now = Date.now(),
  ): Promise<DashboardSnapshot> {
    const routes = this.table.config;
    const summary = this.metrics.summary();
    const breakers = this.breakers.snapshot().map((b): BreakerView => {
      const policy = routes.services.get(b.service)?.circuitBreaker;
      return {
        ...b,
        failureThreshold: policy?.failureThreshold ?? 0,
        resetTimeoutMs: policy?.resetTimeoutMs ?? 0,
        msToTrial: b.nextTrialAt === null ? null : Math.max(0, Date.parse(b.nextTrialAt) - now),
      };
    });
    breakers.sort((a, b) =>
      a.service === b.service ? a.upstream.localeCompare(b.upstream) : a.service.localeCompare(b.service),
    );
    return {
      seq,
      t: now,
      store: this.env.redis.url ? 'redis' : 'embedded',
      redisFallback: await redisFallbackActive(),
      config: { version: routes.version, source: routes.source },
      services: [...routes.services.values()].map((s) => ({
        name: s.name,
        instances: s.instances.length,
        auth: s.auth,
      })),
      breakers,
      totals: {
        requests: summary.total_requests,
        retries: summary.total_retries,
        rateLimitAllowed: summary.rate_limit_allowed,
        rateLimitBlocked: summary.rate_limit_blocked,
        cacheHits: summary.cache_hits,
      },
      sample,
      drill: this.drill.status(),
      viewers,
      draining: this.shutdown.draining,
    };
  }
}

async function redisFallbackActive(): Promise<boolean> {
  const gauge = register.getSingleMetric(M.redisFallback);
  if (!gauge) return false;
  const { values } = await gauge.get();
  return values.some((v) => v.value === 1);
}
