import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { type ServerResponse } from 'node:http';
import { GatewayError } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { rateLimitHeader, rateLimitPolicyHeader } from './rate-limit-headers.js';
import { RateLimitStore } from './rate-limit.store.js';

/** Store key of a client's bucket for a service. Key names and IPs get distinct spaces (a key may be named `10.0.0.1`). */
export function bucketKey(service: string, consumer: string | null, clientIp: string): string {
  return consumer !== null ? `rl:${service}:k:${consumer}` : `rl:${service}:ip:${clientIp}`;
}

/**
 * Token bucket per client and service, after {@link ApiKeyGuard}: the client is the verified
 * key name, else the client IP (`req.ip`, TRUST_PROXY applied, so a spoofed X-Forwarded-For
 * changes nothing unless that proxy is trusted). Every limited response carries
 * `RateLimit-Policy` and `RateLimit`; a refusal is 429 RATE_LIMITED with `Retry-After`.
 * Services with `rateLimit: false` (policy null) are not touched.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly store: RateLimitStore,
    private readonly metrics: MetricsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const ctx = http.getRequest<GatewayRequest>().bw;
    const service = ctx.target!.service;
    const policy = service.rateLimit;
    if (policy === null) return true;
    const d = await this.store.take(bucketKey(service.name, ctx.consumer, ctx.clientIp), policy);
    const res = http.getResponse<ServerResponse>();
    res.setHeader('RateLimit-Policy', rateLimitPolicyHeader(policy));
    res.setHeader('RateLimit', rateLimitHeader(d));
    this.metrics.recordRateLimit(service.name, d.allowed);
    if (d.allowed) return true;
    throw new GatewayError(
      'RATE_LIMITED',
      `rate limit of service "${service.name}" exceeded; retry in ${d.retryAfterSeconds} s`,
      {
        'Retry-After': String(d.retryAfterSeconds),
      },
    );
  }
}
