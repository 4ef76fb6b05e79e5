import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_ENV, type GatewayEnv, type InstanceConfig } from '@app/config';
import { GatewayError, UpstreamFailure } from '../common/gateway-error.js';
import { type Exchange, type GatewayRequest } from '../common/request-context.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { BreakerRegistry } from '../resilience/breaker-registry.service.js';
import { LoadBalancer } from '../routing/load-balancer.js';
import { Forwarder } from './forwarder.service.js';
import { type UpstreamResponse, wasDiscarded } from './proxy-result.js';
import { hasBody, NO_BODY, prepareBody, type RequestBody } from './request-body.js';

/** Methods that may be sent again (CONTRACT §4). */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** One try of a proxied request: pick an instance, send, return the upstream's answer. */
@Injectable()
export class ProxyService {
  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly balancer: LoadBalancer,
    private readonly forwarder: Forwarder,
    private readonly breakers: BreakerRegistry,
    private readonly metrics: MetricsService,
  ) {}

  /** The exchange state, created on the first try (reads the body policy once). */
  exchange(req: GatewayRequest): Exchange | Promise<Exchange> {
    const ctx = req.bw;
    if (ctx.exchange) return ctx.exchange;
    // No body (most GETs): no await on the hot path.
    if (!hasBody(req)) return this.open(req, NO_BODY);
    const service = ctx.target!.service;
    const replayable = IDEMPOTENT.has(req.method ?? '') && service.retry.maxRetries > 0;
    return prepareBody(req, this.env.bodyLimitBytes, replayable).then((body) => this.open(req, body));
  }

  private open(req: GatewayRequest, body: RequestBody): Exchange {
    const ctx = req.bw;
    ctx.exchange = { body, deadline: Date.now() + ctx.target!.service.totalTimeoutMs, tried: [] };
    return ctx.exchange;
  }

  async attempt(req: GatewayRequest): Promise<UpstreamResponse> {
    const pending = this.exchange(req);
    const exchange = pending instanceof Promise ? await pending : pending;
    const service = req.bw.target!.service;
    // Round robin over instances whose circuit lets a request through; a retry prefers one not tried yet.
    // A half-open circuit may still refuse, sending nothing, when another replica holds the fleet's
    // trial lease: then the next usable instance takes the try.
    let refused: Set<string> | null = null;
    let usable = this.breakers.usable;
    for (;;) {
      const instance = this.balancer.pick(service, exchange.tried, usable);
      if (!instance) throw this.breakers.allOpenError(service);
      try {
        return await this.tryInstance(req, exchange, instance);
      } catch (err) {
        if (!(err instanceof GatewayError && err.code === 'CIRCUIT_OPEN')) throw err;
        if (refused === null) {
          const skip = (refused = new Set<string>());
          usable = (inst: InstanceConfig): boolean => !skip.has(inst.id) && this.breakers.usable(inst);
        }
        refused.add(instance.id);
      }
    }
  }

  /** One try on one instance, through its breaker. @throws GatewayError CIRCUIT_OPEN when the breaker sent nothing */
  private async tryInstance(
    req: GatewayRequest,
    exchange: Exchange,
    instance: InstanceConfig,
  ): Promise<UpstreamResponse> {
    const ctx = req.bw;
    const target = ctx.target!;
    const service = target.service;
    exchange.tried.push(instance.id);
    ctx.instance = instance;
    const breaker = this.breakers.get(instance.id)!;
    const apiKeyHeader = req.headers['x-api-key'];
    const viaApiKeyHeader = typeof apiKeyHeader === 'string' && apiKeyHeader !== '';
    try {
      const res = await breaker.run(() =>
        this.forwarder.send(instance, req, {
          path: target.upstreamPath,
          body: exchange.body,
          timeoutMs: service.timeoutMs,
          deadline: exchange.deadline,
          consumer: ctx.consumer,
          // Strip exactly the header that carried the gateway's key (X-API-Key wins when both
          // are sent; an Authorization header is then the upstream's own and goes through).
          stripApiKey: ctx.consumer !== null && viaApiKeyHeader,
          stripAuthorization: ctx.consumer !== null && !viaApiKeyHeader && isBearer(req.headers.authorization),
        }),
      );
      // A body that fails after the headers (upstream killed mid-response) counts against the
      // circuit; a client that hung up does not.
      res.body.once('error', () => {
        if (!ctx.gone && !wasDiscarded(res.body)) breaker.recordLateFailure(res.body);
      });
      const s = res.status;
      this.metrics.recordUpstream(
        service.name,
        instance.hostPort,
        s >= 500 ? 'http_5xx' : s >= 400 ? 'http_4xx' : 'success',
      );
      return res;
    } catch (err) {
      if (err instanceof UpstreamFailure) {
        this.metrics.recordUpstream(
          service.name,
          instance.hostPort,
          err.kind === 'timeout' ? 'timeout' : 'connect_failure',
        );
      }
      throw err;
    }
  }
}

function isBearer(value: string | undefined): boolean {
  return value !== undefined && /^bearer\s/i.test(value);
}
