import { Module } from '@nestjs/common';
import { RoutesReloaderModule } from '../routing/routes-reloader.module.js';
import { BreakersController } from './breakers.controller.js';
import { ReloadController } from './reload.controller.js';

/** `/admin/*`: operator endpoints, all behind AdminGuard (ADMIN_API_KEY; unset → 404). */
@Module({
  imports: [RoutesReloaderModule],
  controllers: [BreakersController, ReloadController],
})
export class AdminModule {}
