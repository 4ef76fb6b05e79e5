import { Injectable, Optional } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { RedisService } from '@app/redis';
import { RouteTable } from '../routing/route-table.service.js';
import { ShutdownState } from './shutdown-state.service.js';

/** The routes table is loaded (with how many services, and its version). */
@Injectable()
export class RoutesHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly table: RouteTable,
  ) {}

  check(): HealthIndicatorResult<'routes'> {
    const { services, version } = this.table.config;
    return this.health.check('routes').up({ services: services.size, version });
  }
}

/** Down while draining (SIGTERM received): load balancers stop sending. */
@Injectable()
export class ShutdownHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly state: ShutdownState,
  ) {}

  check(): HealthIndicatorResult<'shutdown'> {
    const session = this.health.check('shutdown');
    return this.state.draining
      ? session.down({ draining: true, inFlight: this.state.inFlight })
      : session.up({ draining: false });
  }
}

/**
 * Redis when REDIS_URL is set: up when it answers; `degraded` (still 200) while it is
 * unreachable and the gateway serves with per-replica local state.
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Optional() private readonly redis?: RedisService,
  ) {}

  async check(): Promise<HealthIndicatorResult<'redis'>> {
    const session = this.health.check('redis');
    if (!this.redis?.enabled) return session.up({ store: 'embedded' });
    if (this.redis.up) {
      try {
        const latencyMs = await this.redis.ping();
        return session.up({ store: 'redis', latencyMs });
      } catch {
        /* fall through: degraded */
      }
    }
    return session.degraded({ store: 'redis', degraded: true, fallback: 'local state (per replica)' });
  }
}
