import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { MetricsController } from './metrics.controller.js';
import { METRIC_PROVIDERS } from './metrics.definitions.js';
import { MetricsService } from './metrics.service.js';

/**
 * `/metrics` and the metrics service. Import {@link METRICS_ENDPOINT} directly in AppModule,
 * before the proxy: Nest registers routes module by module, and the proxy's catch-all must
 * come last.
 */
@Global()
@Module({
  providers: [...METRIC_PROVIDERS, MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}

export const METRICS_ENDPOINT = PrometheusModule.register({
  path: '/metrics',
  controller: MetricsController,
  defaultMetrics: { enabled: true },
});
