import { Module } from '@nestjs/common';
import { RoutesReloader } from './routes-reloader.service.js';

/** Hot reload of the routes file (watch, SIGHUP via main.ts, `POST /admin/reload`). */
@Module({
  providers: [RoutesReloader],
  exports: [RoutesReloader],
})
export class RoutesReloaderModule {}
