import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { GatewayError } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';
import { AuthFailureLimiter, unauthorized } from './auth-failures.service.js';
import { presentedKey } from './credentials.js';
import { hashKey } from './key-matcher.js';

/**
 * Guards `/admin/*` with ADMIN_API_KEY, sent like an API key (`X-API-Key` or
 * `Authorization: Bearer`; API_KEYS do not count). Unset: 404 NOT_FOUND, as if the endpoints
 * did not exist. Missing or wrong: 401; wrong keys draw from the same per-IP failure budget as
 * API keys (then 429).
 * @example @Controller('admin') @UseGuards(AdminGuard) export class AdminController {}
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly digest: Buffer | null;

  constructor(
    @Inject(GATEWAY_ENV) env: GatewayEnv,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.digest = env.adminApiKey ? hashKey(env.adminApiKey) : null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.digest === null) throw new GatewayError('NOT_FOUND', 'no route matches this path');
    const req = context.switchToHttp().getRequest<GatewayRequest>();
    const key = presentedKey(req.headers);
    if (key === null) throw unauthorized('the admin API key is required (X-API-Key or Authorization: Bearer)');
    const blocked = this.failures.blockedError(req.bw.clientIp);
    if (blocked !== null) throw blocked;
    if (timingSafeEqual(hashKey(key), this.digest)) return true;
    throw await this.failures.fail(req.bw.clientIp);
  }
}
