// The e2e harness: real processes on free ports, stopped after each test file. See README.md here.
export * from './flaky.js';
export * from './gateway.js';
export * from './http.js';
export * from './ports.js';
export * from './processes.js';
export * from './redis.js';
export * from './metrics.js';
