import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { unauthorized } from '../auth/auth-failures.service.js';
import { GatewayError } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';
import { DASHBOARD_ACCESS, type DashboardAccessMode } from './dashboard-access.decorator.js';
import { DashboardAccess } from './dashboard-access.service.js';

/** A dashboard request, marked by the guard when it came without credentials on a `page` endpoint. */
export interface DashboardRequest extends GatewayRequest {
  dashboardAnonymous?: boolean;
}

/** 404 for everything under /dashboard when DASHBOARD_ENABLED=false; the admin key when ADMIN_API_KEY is set. */
@Injectable()
export class DashboardGuard implements CanActivate {
  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly reflector: Reflector,
    private readonly access: DashboardAccess,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.env.dashboard.enabled) throw new GatewayError('NOT_FOUND', 'no route matches this path');
    const mode =
      this.reflector.getAllAndOverride<DashboardAccessMode | undefined>(DASHBOARD_ACCESS, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'private';
    if (mode === 'public') return true;
    const req = context.switchToHttp().getRequest<DashboardRequest>();
    const verdict = await this.access.check(req);
    if (verdict === 'ok') return true;
    if (verdict !== 'anonymous') throw verdict;
    if (mode === 'page') {
      req.dashboardAnonymous = true;
      return true;
    }
    throw unauthorized('the dashboard needs the admin key: sign in at /dashboard/login, or send X-API-Key');
  }
}
