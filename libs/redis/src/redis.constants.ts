/** Injection token of the {@link RedisOptions} given to `RedisModule.forRoot`. */
export const REDIS_OPTIONS: symbol = Symbol('REDIS_OPTIONS');
