import { Global, Module } from '@nestjs/common';
import { RedisService } from '@app/redis';
import { BREAKER_SYNC, LocalBreakerStateSync } from './breaker-state-sync.js';
import { RedisBreakerStateSync } from './breaker-state.redis-sync.js';
import { BreakerRegistry } from './breaker-registry.service.js';
import { RetryLoop } from './retry-loop.service.js';
import { RetryBudgets } from './retry-budgets.service.js';

@Global()
@Module({
  providers: [
    {
      provide: BREAKER_SYNC,
      useFactory: (redis: RedisService) =>
        redis.enabled ? new RedisBreakerStateSync(redis) : new LocalBreakerStateSync(),
      inject: [RedisService],
    },
    BreakerRegistry,
    RetryBudgets,
    RetryLoop,
  ],
  exports: [BreakerRegistry, RetryBudgets, RetryLoop],
})
export class ResilienceModule {}
