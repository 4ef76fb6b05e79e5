import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { GatewayError } from '../common/gateway-error.js';
import { type Exchange, type GatewayRequest } from '../common/request-context.js';
import { LoadBalancer } from '../routing/load-balancer.js';
import { Forwarder } from './forwarder.service.js';
import { type UpstreamResponse } from './proxy-result.js';
import { prepareBody } from './request-body.js';

/** Methods that may be sent again (CONTRACT §4). */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** One try of a proxied request: pick an instance, send, return the upstream's answer. */
@Injectable()
export class ProxyService {
  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly balancer: LoadBalancer,
    private readonly forwarder: Forwarder,
  ) {}

  /** The exchange state, created on the first try (reads the body policy once). */
  async exchange(req: GatewayRequest): Promise<Exchange> {
    const ctx = req.bw;
    if (ctx.exchange) return ctx.exchange;
    const service = ctx.target!.service;
    const replayable = IDEMPOTENT.has(req.method ?? '') && service.retry.maxRetries > 0;
    const body = await prepareBody(req, this.env.bodyLimitBytes, replayable);
    ctx.exchange = { body, deadline: Date.now() + service.totalTimeoutMs, tried: [] };
    return ctx.exchange;
  }

  async attempt(req: GatewayRequest): Promise<UpstreamResponse> {
    const ctx = req.bw;
    const target = ctx.target!;
    const exchange = await this.exchange(req);
    const instance = this.balancer.pick(target.service, exchange.tried);
    if (!instance) throw new GatewayError('SERVICE_UNAVAILABLE', 'the service has no instance');
    exchange.tried.push(instance.id);
    ctx.instance = instance;
    return this.forwarder.send(instance, req, {
      path: target.upstreamPath,
      body: exchange.body,
      timeoutMs: target.service.timeoutMs,
      deadline: exchange.deadline,
      consumer: ctx.consumer,
      stripApiKey: ctx.consumer !== null,
      stripAuthorization: ctx.consumer !== null && isBearer(req.headers.authorization),
    });
  }
}

function isBearer(value: string | undefined): boolean {
  return value !== undefined && /^bearer\s/i.test(value);
}
