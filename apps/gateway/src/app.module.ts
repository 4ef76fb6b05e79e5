import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ConfigModule, type GatewayConfig } from '@app/config';
import { type Logger, LoggingModule } from '@app/logging';
import { RedisModule } from '@app/redis';
import { AdminModule } from './admin/admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ProblemFilter } from './common/problem.filter.js';
import { RequestContextMiddleware } from './common/request-context.middleware.js';
import { DashboardModule } from './dashboard/dashboard.module.js';
import { EventsModule } from './events/gateway-events.service.js';
import { HealthModule } from './health/health.module.js';
import { METRICS_ENDPOINT, MetricsModule } from './metrics/metrics.module.js';
import { ProxyModule } from './proxy/proxy.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RedisStatusModule } from './redis/redis-status.service.js';
import { ResilienceModule } from './resilience/resilience.module.js';
import { RoutingModule } from './routing/routing.module.js';

/** Wires the feature modules; the proxy's catch-all is imported last so own endpoints match first. */
@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        RedisModule.forRoot({ ...config.env.redis }),
        RedisStatusModule,
        EventsModule,
        MetricsModule,
        METRICS_ENDPOINT,
        RoutingModule,
        HealthModule,
        ResilienceModule,
        RateLimitModule,
        AuthModule,
        AdminModule,
        DashboardModule,
        ProxyModule,
      ],
      // RequestContextMiddleware is mounted by bootstrap.ts on the Express app itself, ahead of
      // routing: a path Express cannot decode (`%zz`) is still logged and counted.
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }, RequestContextMiddleware],
    };
  }
}
