export * from './config.types.js';
export * from './config.module.js';
export * from './env.schema.js';
export * from './load-config.js';
export * from './problems.js';
export * from './routes.schema.js';
