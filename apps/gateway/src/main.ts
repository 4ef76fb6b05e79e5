import { ConfigError, loadConfig } from '@app/config';
import { createLogger } from '@app/logging';

/* The edge: the only place that reads process.env (through loadConfig) and handles signals. */

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    for (const problem of err.problems) process.stderr.write(`config error: ${problem}\n`);
    process.exit(1);
  }
  throw err;
}

// Nest and the app are loaded only once the configuration is known to be valid: a bad
// variable is reported at once, not after the framework has loaded.
const { startGateway } = await import('./bootstrap.js');
const { RoutesReloader } = await import('./routing/routes-reloader.service.js');
const logger = createLogger({ level: config.env.logLevel });
const gateway = await startGateway(config, logger).catch((err: unknown) => {
  process.stderr.write(`start-up failed: ${(err as Error).message}\n`);
  process.exit(1);
});

const { env } = config;
logger.info(
  {
    event: 'started',
    port: env.port,
    managementPort: env.managementPort,
    tls: env.tls !== null,
    store: env.redis.url ? 'redis' : 'memory',
    services: [...config.routes.services.keys()],
    configVersion: config.routes.version,
  },
  `Breakwater listening on ${env.tls ? 'https' : 'http'}://${env.host}:${env.port}`,
);

let signals = 0;
const onStop = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) {
    logger.warn({ event: 'shutdown_forced', signal }, 'second signal: exiting at once');
    logger.flush(() => process.exit(1));
    return;
  }
  void gateway.shutdown().then(
    () => logger.flush(() => process.exit(0)),
    (err: unknown) => {
      logger.error({ event: 'shutdown_failed', err }, 'shutdown failed');
      logger.flush(() => process.exit(1));
    },
  );
};
process.on('SIGTERM', onStop);
process.on('SIGINT', onStop);
process.on('SIGHUP', () => void gateway.app.get(RoutesReloader).reload('sighup'));
process.on('unhandledRejection', (err) => logger.error({ event: 'unhandled_rejection', err }, 'unhandled rejection'));
