import { Global, Module } from '@nestjs/common';
import { BREAKER_SYNC, LocalBreakerStateSync } from './breaker-state-sync.js';
import { BreakerRegistry } from './breaker-registry.service.js';
import { ResilienceInterceptor } from './resilience.interceptor.js';
import { RetryBudgets } from './retry-budgets.service.js';

@Global()
@Module({
  providers: [{ provide: BREAKER_SYNC, useClass: LocalBreakerStateSync }, BreakerRegistry, RetryBudgets, ResilienceInterceptor],
  exports: [BreakerRegistry, RetryBudgets, ResilienceInterceptor],
})
export class ResilienceModule {}
