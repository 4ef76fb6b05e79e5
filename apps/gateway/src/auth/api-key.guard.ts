import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { type GatewayRequest } from '../common/request-context.js';
import { ApiKeys } from './api-keys.service.js';
import { AuthFailureLimiter, unauthorized } from './auth-failures.service.js';
import { presentedKey } from './credentials.js';

/**
 * Who is calling, after {@link RouteGuard}: sets `req.bw.consumer` to the name of the key the
 * client presented (`X-API-Key` or `Authorization: Bearer`); the proxy then strips the
 * credential and sends `X-Consumer-Name`.
 *
 * - `auth: required`: no key → 401; a wrong key → 401 and one draw from the IP's failure
 *   budget ({@link AuthFailureLimiter}); budget spent → 429.
 * - `auth: none`: a valid key still names the consumer (limits per key, credential not
 *   forwarded); anything else is anonymous and goes on (the header may be the upstream's own).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeys,
    private readonly failures: AuthFailureLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<GatewayRequest>();
    const ctx = req.bw;
    const required = ctx.target!.service.auth === 'required';
    if (!required && !this.keys.configured) return true;
    const key = presentedKey(req.headers);
    if (key === null) {
      if (required) throw unauthorized('an API key is required (X-API-Key or Authorization: Bearer)');
      return true;
    }
    const blocked = this.failures.blockedError(ctx.clientIp);
    if (blocked !== null) {
      if (required) throw blocked;
      return true;
    }
    const name = this.keys.matcher.match(key);
    if (name !== null) {
      ctx.consumer = name;
      return true;
    }
    if (required) throw await this.failures.fail(ctx.clientIp);
    return true;
  }
}
