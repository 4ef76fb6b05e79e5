import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { type Server as TlsServer } from 'node:tls';
import { type GatewayConfig } from '@app/config';
import { type Logger, NestPinoLogger } from '@app/logging';
import { AppModule } from './app.module.js';
import { RequestContextMiddleware } from './common/request-context.middleware.js';
import { type GatewayRequest } from './common/request-context.js';
import { GatewayEvents } from './events/gateway-events.service.js';
import { ShutdownState } from './health/shutdown-state.service.js';
import { closeServer, createListeners, listen, type Listeners } from './server/listeners.js';
import { loadTlsMaterial, watchTlsFiles } from './server/tls-reloader.js';

export interface RunningGateway {
  readonly app: NestExpressApplication;
  readonly listeners: Listeners;
  /** Drains and stops (the SIGTERM sequence of CONTRACT §4). */
  shutdown(): Promise<void>;
}

/** Builds the Nest app, opens the listeners, and returns a handle to stop it. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  const { env } = config;
  // Before anything starts: a missing or bad certificate stops start-up, naming the variable.
  const tls = env.tls ? loadTlsMaterial(env.tls) : null;
  const expressApp = express();
  expressApp.set('trust proxy', env.trustProxy);
  expressApp.disable('x-powered-by');
  expressApp.set('etag', false);

  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, logger),
    new ExpressAdapter(expressApp),
    {
      bodyParser: false,
      logger: new NestPinoLogger(logger),
      abortOnError: false,
    },
  );
  // The first step of every request, mounted before Nest's routes so it sees every request.
  const context = app.get(RequestContextMiddleware);
  expressApp.use((req, res, next) => context.use(req as unknown as GatewayRequest, res, next));
  await app.init();

  const listeners = createListeners(env, expressApp, tls);
  await listen(listeners.proxy, env.port, env.host);
  // Certificate rotation: new connections get the new pair, open ones keep theirs.
  const tlsWatch = env.tls && tls ? watchTlsFiles(listeners.proxy as unknown as TlsServer, env.tls, tls, logger) : null;
  if (listeners.management) await listen(listeners.management, env.managementPort!, env.host);

  const state = app.get(ShutdownState);
  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      state.startDraining();
      tlsWatch?.close();
      logger.info({ inFlight: state.inFlight, drainMs: env.shutdownDrainMs }, 'draining');
      // Long-lived streams (dashboard SSE) end on this event so the drain is not held open.
      app.get(GatewayEvents).emit({ type: 'shutdown_started' });
      const proxyClosed = closeServer(listeners.proxy);
      listeners.proxy.closeIdleConnections();
      const idle = await state.whenIdle(env.shutdownDrainMs);
      listeners.proxy.closeAllConnections();
      await proxyClosed;
      if (listeners.management) {
        const closed = closeServer(listeners.management);
        listeners.management.closeAllConnections();
        await closed;
      }
      await app.close();
      logger.info({ event: 'shutdown_complete', drained: idle }, 'stopped');
    })();
    return stopping;
  };
  return { app, listeners, shutdown };
}
