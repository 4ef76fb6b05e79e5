import { type DynamicModule, Global, Module } from '@nestjs/common';
import { type Logger } from 'pino';

/** Injection token of the process's pino {@link Logger}. */
export const LOGGER = Symbol('LOGGER');

/** Provides the one pino logger built at the edge (main.ts or a test). */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(logger: Logger): DynamicModule {
    return { module: LoggingModule, providers: [{ provide: LOGGER, useValue: logger }], exports: [LOGGER] };
  }
}
