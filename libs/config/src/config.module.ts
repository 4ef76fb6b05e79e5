import { type DynamicModule, Global, Module } from '@nestjs/common';
import { type GatewayConfig, type GatewayEnv } from './config.types.js';

/** Injection token of the process-wide settings ({@link GatewayEnv}). */
export const GATEWAY_ENV = Symbol('GATEWAY_ENV');
/** Injection token of the routes config loaded at start-up ({@link RoutesConfig}). */
export const INITIAL_ROUTES = Symbol('INITIAL_ROUTES');

/**
 * Provides the validated configuration to the app. The config is loaded once, at the edge
 * (main.ts or a test), and passed in: nothing inside the app reads `process.env`.
 * @example ConfigModule.forRoot(loadConfig(process.env))
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: GATEWAY_ENV, useValue: config.env },
        { provide: INITIAL_ROUTES, useValue: config.routes },
      ],
      exports: [GATEWAY_ENV, INITIAL_ROUTES],
    };
  }
}

export type { GatewayEnv };
