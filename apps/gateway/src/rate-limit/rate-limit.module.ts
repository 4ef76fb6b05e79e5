import { Global, Module } from '@nestjs/common';
import { RedisService } from '@app/redis';
import { FallbackRateLimitStore } from './fallback.store.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RateLimitStore } from './rate-limit.store.js';
import { MemoryTokenBucketStore } from './token-bucket.memory-store.js';
import { RedisTokenBucketStore } from './token-bucket.redis-store.js';

/**
 * The rate-limit store ({@link RateLimitStore}: Redis with a memory fallback when REDIS_URL is
 * set, else memory) and {@link RateLimitGuard}. Global: the auth guards draw their per-IP
 * failure buckets from the same store.
 */
@Global()
@Module({
  providers: [
    { provide: MemoryTokenBucketStore, useFactory: () => new MemoryTokenBucketStore() },
    RedisTokenBucketStore,
    {
      provide: RateLimitStore,
      inject: [RedisService, RedisTokenBucketStore, MemoryTokenBucketStore],
      useFactory: (
        redis: RedisService,
        shared: RedisTokenBucketStore,
        local: MemoryTokenBucketStore,
      ): RateLimitStore => (redis.enabled ? new FallbackRateLimitStore(shared, local, redis) : local),
    },
    RateLimitGuard,
  ],
  exports: [RateLimitStore, RateLimitGuard],
})
export class RateLimitModule {}
