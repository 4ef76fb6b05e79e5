import { All, Controller, Req, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { type Response } from 'express';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { type GatewayRequest } from '../common/request-context.js';
import { RateLimitGuard } from '../rate-limit/rate-limit.guard.js';
import { RouteGuard } from '../routing/route.guard.js';
import { ProxyPipelineInterceptor } from './proxy-pipeline.interceptor.js';
import { type UpstreamResponse } from './proxy-result.js';
import { ProxyService } from './proxy.service.js';

/**
 * Catches every proxied path (`/v1/proxy/{service}/…`, route mounts, `/proxy/…`). Registered
 * last, so the gateway's own endpoints match first. The guards decide who may call and how
 * often; the handler is one try; the interceptor around it caches, retries and finally writes
 * the answer.
 */
@Controller()
@UseGuards(RouteGuard, ApiKeyGuard, RateLimitGuard)
@UseInterceptors(ProxyPipelineInterceptor)
export class ProxyController {
  constructor(private readonly proxy: ProxyService) {}

  @All('{*path}')
  handle(@Req() req: GatewayRequest, @Res() _res: Response): Promise<UpstreamResponse> {
    return this.proxy.attempt(req);
  }
}
