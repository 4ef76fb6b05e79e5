import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { GatewayError } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';
import { RouteTable } from './route-table.service.js';

/**
 * Resolves where a proxied request goes, before any other guard: the API-key and rate-limit
 * guards read the service's policies from `req.bw.target`.
 */
@Injectable()
export class RouteGuard implements CanActivate {
  constructor(private readonly table: RouteTable) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<GatewayRequest>();
    if (req.headers.upgrade !== undefined) {
      throw new GatewayError('UPGRADE_NOT_SUPPORTED', 'protocol upgrades (WebSocket) are not proxied in this version');
    }
    const target = this.table.resolve(req.originalUrl ?? req.url ?? '/');
    req.bw.target = target;
    req.bw.serviceLabel = target.service.name;
    return true;
  }
}
