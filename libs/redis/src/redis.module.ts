import { type DynamicModule, Global, Module } from '@nestjs/common';
import { REDIS_OPTIONS } from './redis.constants.js';
import { type RedisOptions } from './redis-options.interface.js';
import { RedisService } from './redis.service.js';

/**
 * The one Redis connection of the app (global). With `url: null` the service exists but is
 * disabled, so callers inject it unconditionally and check `enabled`.
 * @example RedisModule.forRoot({ ...env.redis })
 */
@Global()
@Module({})
export class RedisModule {
  static forRoot(options: RedisOptions): DynamicModule {
    return {
      module: RedisModule,
      providers: [{ provide: REDIS_OPTIONS, useValue: options }, RedisService],
      exports: [RedisService, REDIS_OPTIONS],
    };
  }
}
