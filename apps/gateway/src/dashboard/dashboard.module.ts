import { Module } from '@nestjs/common';
import { DashboardAccess } from './dashboard-access.service.js';
import { DashboardSnapshots } from './dashboard-snapshot.service.js';
import { DashboardStream } from './dashboard-stream.service.js';
import { DashboardController } from './dashboard.controller.js';
import { DashboardGuard } from './dashboard.guard.js';
import { DrillService } from './drill.service.js';

/**
 * `/dashboard`: the live page, its SSE stream and the circuit-breaker drill. Import it in
 * AppModule before the proxy, whose catch-all must be registered last.
 */
@Module({
  controllers: [DashboardController],
  providers: [DashboardAccess, DashboardGuard, DashboardSnapshots, DashboardStream, DrillService],
})
export class DashboardModule {}
