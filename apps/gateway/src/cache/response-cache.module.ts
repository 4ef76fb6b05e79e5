import { Module } from '@nestjs/common';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { RedisService } from '@app/redis';
import { CacheStore } from './cache.store.js';
import { MemoryCacheStore } from './memory-cache.store.js';
import { RedisCacheStore } from './redis-cache.store.js';
import { ResponseCache } from './response-cache.service.js';

/** Redis when REDIS_URL is set (shared by replicas), else the bounded in-memory LRU. */
function cacheStore(env: GatewayEnv, redis: RedisService | undefined): CacheStore {
  if (redis?.enabled) return new RedisCacheStore(redis, env.cache.maxEntryBytes);
  return new MemoryCacheStore(env.cache);
}

/** The response cache: its store and the service the proxy pipeline runs between the writer and the retry loop. */
@Module({
  providers: [
    {
      provide: CacheStore,
      useFactory: cacheStore,
      inject: [GATEWAY_ENV, { token: RedisService, optional: true }],
    },
    ResponseCache,
  ],
  exports: [CacheStore, ResponseCache],
})
export class ResponseCacheModule {}
