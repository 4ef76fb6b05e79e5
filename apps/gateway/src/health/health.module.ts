import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { RedisHealthIndicator, RoutesHealthIndicator, ShutdownHealthIndicator } from './indicators.js';
import { ShutdownState } from './shutdown-state.service.js';

@Global()
@Module({
  // Failed checks are the answer (503), not an error to log on every probe.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ShutdownState, RoutesHealthIndicator, ShutdownHealthIndicator, RedisHealthIndicator],
  exports: [ShutdownState],
})
export class HealthModule {}
