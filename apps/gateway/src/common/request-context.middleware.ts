import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { type ServerResponse } from 'node:http';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { LOGGER, type Logger, resolveRequestId } from '@app/logging';
import { ShutdownState } from '../health/shutdown-state.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { GatewayError } from './gateway-error.js';
import { writeProblem } from './problem.filter.js';
import { type GatewayRequest, RequestContext } from './request-context.js';

/** Prefixes of the gateway's own endpoints (management listener when MANAGEMENT_PORT is set). */
export const MANAGEMENT_PREFIXES = ['/health', '/metrics', '/dashboard', '/admin'] as const;

/**
 * Whether `url` reaches one of the gateway's own controllers. Case-insensitive, as Express's
 * routing is: `/METRICS` must not slip past the listener split onto PORT.
 */
export function isManagementPath(url: string): boolean {
  // Fast reject (every request passes here): the prefixes start /h, /m, /d or /a, in any case.
  const c1 = url.charCodeAt(1) | 0x20;
  if (c1 !== 104 && c1 !== 109 && c1 !== 100 && c1 !== 97) return false;
  for (const p of MANAGEMENT_PREFIXES) {
    if (url.length >= p.length && url.slice(0, p.length).toLowerCase() === p) {
      const c = url.charCodeAt(p.length);
      if (Number.isNaN(c) || c === 47 /* / */ || c === 63 /* ? */) return true;
    }
  }
  return false;
}

/** Longer request-targets get 414 (the whole head is bounded by MAX_HEADER_BYTES: 431). */
export const MAX_URL_BYTES = 8192;

/** Paths whose hits are logged at debug, not info: probes and scrapes would drown the log. */
function isQuietPath(url: string): boolean {
  return url.startsWith('/health') || url.startsWith('/metrics');
}

/**
 * First step of every request: request id, client address, the listener split, and — when
 * the response is over — one access-log line and the request metrics.
 */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  private readonly split: boolean;

  constructor(
    @Inject(GATEWAY_ENV) env: GatewayEnv,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
  ) {
    this.split = env.managementPort !== null;
  }

  use(req: GatewayRequest, res: ServerResponse, next: (err?: unknown) => void): void {
    const url = req.originalUrl ?? req.url ?? '/';
    const management = req.bwListener === 'management';
    const own = isManagementPath(url);
    const ctx = new RequestContext(
      resolveRequestId(req.headers['x-request-id']),
      performance.now(),
      management,
      own ? 'gateway' : 'unknown',
      req.ip ?? req.socket.remoteAddress ?? '',
    );
    req.bw = ctx;
    res.setHeader('X-Request-Id', ctx.requestId);
    // Draining: tell keep-alive clients to reconnect elsewhere.
    if (this.shutdown.draining) res.setHeader('Connection', 'close');
    this.shutdown.requestStarted();
    res.once('close', () => {
      this.shutdown.requestEnded();
      if (!res.writableFinished) ctx.markGone();
      this.finish(req, res, url);
    });
    if (url.length > MAX_URL_BYTES) {
      writeProblem(
        res,
        new GatewayError('URI_TOO_LONG', `request-target longer than ${MAX_URL_BYTES} bytes`),
        ctx.requestId,
      );
      return;
    }
    if (this.split && own !== management) {
      // With MANAGEMENT_PORT, each listener serves only its own side.
      ctx.serviceLabel = own ? 'gateway' : 'unknown';
      writeProblem(res, new GatewayError('NOT_FOUND', 'no route matches this path on this port'), ctx.requestId);
      return;
    }
    next();
  }

  private finish(req: GatewayRequest, res: ServerResponse, url: string): void {
    const ctx = req.bw;
    const seconds = (performance.now() - ctx.start) / 1000;
    const status = res.writableFinished || res.headersSent ? res.statusCode : 499;
    this.metrics.recordRequest(ctx.serviceLabel, req.method, status, seconds);
    const q = url.indexOf('?');
    const line = {
      event: 'request',
      requestId: ctx.requestId,
      method: req.method,
      path: q === -1 ? url : url.slice(0, q),
      service: ctx.serviceLabel,
      instance: ctx.instance?.hostPort ?? null,
      status,
      durationMs: Math.round(seconds * 100000) / 100,
      bytes: Number(res.getHeader('content-length') ?? 0) || undefined,
      retries: ctx.retries,
      cache: ctx.cache ?? undefined,
      consumer: ctx.consumer ?? undefined,
      clientIp: ctx.clientIp,
      aborted: res.writableFinished ? undefined : true,
    };
    if (isQuietPath(url)) this.logger.debug(line, 'request');
    else this.logger.info(line, 'request');
  }
}
