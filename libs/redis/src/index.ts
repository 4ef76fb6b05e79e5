export * from './redis-options.interface.js';
export * from './redis.constants.js';
export * from './redis.module.js';
export * from './redis.service.js';
