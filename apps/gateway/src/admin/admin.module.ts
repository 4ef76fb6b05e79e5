import { Module } from '@nestjs/common';
import { BreakersController } from './breakers.controller.js';

/** `/admin/*`: operator endpoints, all behind AdminGuard (ADMIN_API_KEY; unset → 404). */
@Module({
  controllers: [BreakersController],
})
export class AdminModule {}
