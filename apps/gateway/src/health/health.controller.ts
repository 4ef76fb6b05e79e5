import { Controller, Get, Header } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { RedisHealthIndicator, RoutesHealthIndicator, ShutdownHealthIndicator } from './indicators.js';

/**
 * Probes (CONTRACT §3). Never authenticated, rate-limited or logged at info per hit.
 * - `/health/live`: the process and its event loop answer; no dependency checks, so a Redis
 *   outage never restarts pods.
 * - `/health/ready`: routes loaded, not draining, Redis reachable (degraded, still 200, while it
 *   is not and local state serves).
 * - `/health`: the same checks, for humans and simple monitors.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly routes: RoutesHealthIndicator,
    private readonly shutdown: ShutdownHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  @Header('Cache-Control', 'no-store')
  overall() {
    return this.ready();
  }

  @Get('live')
  @HealthCheck()
  @Header('Cache-Control', 'no-store')
  live() {
    return this.health.check([
      () => ({ process: { status: 'up' as const, uptimeSeconds: Math.round(process.uptime()) } }),
    ]);
  }

  @Get('ready')
  @HealthCheck()
  @Header('Cache-Control', 'no-store')
  ready() {
    return this.health.check([() => this.shutdown.check(), () => this.routes.check(), () => this.redis.check()]);
  }
}
