import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { Agent, type Dispatcher } from 'undici';
import { type InstanceConfig } from '@app/config';
import { GatewayError, UpstreamFailure } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';
import { upstreamRequestHeaders } from './header-rules.js';
import { type UpstreamResponse } from './proxy-result.js';
import { type RequestBody } from './request-body.js';

/** Abort reasons, told apart when classifying what went wrong. */
const TRY_TIMEOUT = Symbol('try-timeout');
const DEADLINE = Symbol('deadline');

const CLIENT_GONE = Symbol('client-gone');

/**
 * The abort signal of one try. undici takes an EventEmitter with `aborted`/`reason` as well as
 * an AbortSignal, and an EventEmitter is much cheaper to make than an AbortController (no
 * EventTarget, no DOMException) — this is on the hot path, once per try.
 */
class TrySignal extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** The client went away: nothing to answer. */
export class ClientGone extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGone';
  }
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export interface TryOptions {
  /** The upstream path (with query), the instance's base path not yet prefixed. */
  readonly path: string;
  readonly body: RequestBody;
  /** Per-try timeout until response headers. */
  readonly timeoutMs: number;
  /** Absolute time (ms) the whole request must be done by, body included. */
  readonly deadline: number;
  readonly consumer: string | null;
  readonly stripApiKey: boolean;
  readonly stripAuthorization: boolean;
}

/**
 * Sends one try to one instance over a keep-alive undici pool and returns as soon as the
 * status and headers are known; the body streams later. Per-try timeout until headers; the
 * total deadline also bounds the body; a client that hangs up aborts the upstream request.
 */
@Injectable()
export class Forwarder implements OnApplicationShutdown {
  private readonly agent = new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    connections: 512,
    pipelining: 1,
    connect: { timeout: 10_000 },
    headersTimeout: 0,
    bodyTimeout: 0,
    maxHeaderSize: 64 * 1024,
  });

  async send(instance: InstanceConfig, req: GatewayRequest, opts: TryOptions): Promise<UpstreamResponse> {
    const ctx = req.bw;
    if (ctx.gone) throw new ClientGone();
    const now = Date.now();
    const remaining = opts.deadline - now;
    if (remaining <= 0) throw new UpstreamFailure('timeout', 'the request deadline ran out', instance.id);

    const signal = new TrySignal();
    const offGone = ctx.onGone(() => signal.abort(CLIENT_GONE));
    // The per-try clock measures the upstream, so it starts once the request body is sent: a client
    // that uploads slowly is not the upstream being slow (nor a breaker failure). Until then, only
    // the total deadline runs.
    let timer: NodeJS.Timeout | undefined;
    let headersIn = false;
    const startTryClock = (): void => {
      if (headersIn) return;
      clearTimeout(timer);
      const left = opts.deadline - Date.now();
      const tryLimited = opts.timeoutMs < left;
      timer = setTimeout(
        () => signal.abort(tryLimited ? TRY_TIMEOUT : DEADLINE),
        Math.max(0, Math.min(opts.timeoutMs, left)),
      );
    };

    const body = opts.body;
    let payload: Dispatcher.DispatchOptions['body'] = undefined;
    let contentLength: number | null = null;
    if (body.kind === 'buffer') {
      payload = body.data;
      contentLength = body.data.length;
    } else if (body.kind === 'stream') {
      body.consumed = true;
      payload = body.stream;
      contentLength = body.length;
      timer = setTimeout(() => signal.abort(DEADLINE), remaining);
      body.stream.once('end', startTryClock);
    } else startTryClock();
    const headers = upstreamRequestHeaders(req.headers, {
      // Each hop appends its peer: the socket's address, not the client address computed from the chain.
      clientIp: req.socket.remoteAddress ?? ctx.clientIp,
      // Express's `protocol` honours X-Forwarded-Proto only from a trusted proxy (TRUST_PROXY).
      proto: (req as { protocol?: string }).protocol === 'https' ? 'https' : 'http',
      // Likewise Express's `host` (X-Forwarded-Host from a trusted proxy, else Host).
      host: (req as { host?: string }).host ?? req.headers.host,
      requestId: ctx.requestId,
      consumer: opts.consumer,
      stripApiKey: opts.stripApiKey,
      stripAuthorization: opts.stripAuthorization,
      contentLength,
    });

    try {
      const res = await this.agent.request({
        origin: instance.origin,
        path: instance.basePath + opts.path,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: payload,
        signal,
        // Between body chunks: an upstream that stalls mid-body is cut after the per-try timeout.
        bodyTimeout: opts.timeoutMs,
      });
      // Headers are in: from now on only the total deadline bounds the exchange.
      headersIn = true;
      clearTimeout(timer);
      const left = opts.deadline - Date.now();
      timer = setTimeout(() => signal.abort(DEADLINE), Math.max(left, 0));
      timer.unref();
      const release = (): void => {
        clearTimeout(timer);
        offGone();
      };
      // 'close' follows both 'end' and 'error' (autoDestroy).
      res.body.once('close', release);
      return { status: res.statusCode, headers: res.headers, body: res.body, instance };
    } catch (err) {
      headersIn = true;
      clearTimeout(timer);
      offGone();
      throw classify(err, signal, instance);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close().catch(() => this.agent.destroy());
  }
}

function classify(err: unknown, signal: TrySignal, instance: InstanceConfig): Error {
  if (signal.aborted) {
    if (signal.reason === TRY_TIMEOUT) {
      return new UpstreamFailure('timeout', `${instance.hostPort} did not answer in time`, instance.id);
    }
    if (signal.reason === DEADLINE) return new UpstreamFailure('timeout', 'the request deadline ran out', instance.id);
    return new ClientGone();
  }
  if (GatewayError.isGatewayError(err)) return err; // e.g. 413 raised while streaming the body
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UpstreamFailure('timeout', `${instance.hostPort} did not answer in time`, instance.id);
  }
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  const why = CONNECT_CODES.has(code) || (cause && CONNECT_CODES.has(cause)) ? code || cause : 'connection error';
  return new UpstreamFailure('connect-failure', `${instance.hostPort}: ${why}`, instance.id);
}
