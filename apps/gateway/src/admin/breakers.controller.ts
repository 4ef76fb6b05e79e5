import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../auth/admin.guard.js';
import { GatewayError } from '../common/gateway-error.js';
import { BreakerRegistry, type BreakerSnapshot } from '../resilience/breaker-registry.service.js';

/** `GET /admin/breakers`, `POST /admin/breakers/{service}/reset` (CONTRACT §3), behind the admin key. */
@Controller('admin/breakers')
@UseGuards(AdminGuard)
export class BreakersController {
  constructor(private readonly breakers: BreakerRegistry) {}

  @Get()
  list(): { breakers: BreakerSnapshot[] } {
    return { breakers: this.breakers.snapshot() };
  }

  @Post(':service/reset')
  @HttpCode(200)
  reset(@Param('service') service: string): { service: string; reset: string[] } {
    const ids = this.breakers.reset(service);
    if (ids === null) throw new GatewayError('UNKNOWN_SERVICE', `no service named "${service.slice(0, 64)}"`);
    return { service, reset: ids };
  }
}
