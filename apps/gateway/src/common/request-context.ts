import { type IncomingMessage } from 'node:http';
import { type InstanceConfig, type ServiceConfig } from '@app/config';
import { type RequestBody } from '../proxy/request-body.js';

/** Where a proxied request goes: resolved once, before the guards. */
export interface ProxyTarget {
  readonly service: ServiceConfig;
  /** Path (and query) to send upstream, after the service's base path is prefixed. */
  readonly upstreamPath: string;
}

/** Per-request state shared by middleware, guards, interceptors and the access log. */
export class RequestContext {
  /** Where a proxied request goes (set by RouteGuard). */
  target: ProxyTarget | null = null;
  /** Verified API-key name (null: anonymous). */
  consumer: string | null = null;
  /** Instance of the last try. */
  instance: InstanceConfig | null = null;
  retries = 0;
  cache: 'HIT' | 'MISS' | 'STALE' | 'BYPASS' | null = null;
  /** State of the proxied exchange across tries (set by the proxy on the first try). */
  exchange?: Exchange;
  /** The client went away before the response was complete. */
  gone = false;
  private goneListeners: (() => void)[] | null = null;
  private goneController: AbortController | null = null;

  constructor(
    readonly requestId: string,
    /** performance.now() at arrival. */
    readonly start: number,
    /** Came in on the management listener. */
    readonly management: boolean,
    /** `service` label: a configured name, `unknown`, or `gateway` for the gateway's own endpoints. */
    public serviceLabel: string,
    /** The client's address (after TRUST_PROXY). */
    readonly clientIp: string,
  ) {}

  /**
   * An AbortSignal that aborts when the client goes away. Made on first use only (retry
   * sleeps, cache waits): an AbortController per request is a measurable cost on the hot path,
   * which uses {@link onGone} instead.
   */
  get clientGone(): AbortSignal {
    if (!this.goneController) {
      this.goneController = new AbortController();
      if (this.gone) this.goneController.abort();
    }
    return this.goneController.signal;
  }

  /** Calls `listener` once if the client goes away; returns the function that cancels it. */
  onGone(listener: () => void): () => void {
    if (this.gone) {
      listener();
      return noop;
    }
    (this.goneListeners ??= []).push(listener);
    return () => {
      const list = this.goneListeners;
      const i = list ? list.indexOf(listener) : -1;
      if (i !== -1) list!.splice(i, 1);
    };
  }

  /** The response closed before it was complete (called by the request middleware). */
  markGone(): void {
    if (this.gone) return;
    this.gone = true;
    const listeners = this.goneListeners;
    this.goneListeners = null;
    if (listeners) for (const l of listeners) l();
    this.goneController?.abort();
  }
}

function noop(): void {}

/** What the tries of one proxied request share. */
export interface Exchange {
  readonly body: RequestBody;
  /** Absolute time (ms) by which the whole request must be done. */
  readonly deadline: number;
  /** Instance ids tried so far, in order. */
  readonly tried: string[];
}

export interface GatewayRequest extends IncomingMessage {
  bw: RequestContext;
  /** Set by the listener that accepted the connection. */
  bwListener?: 'proxy' | 'management';
  /** Express's computed client IP (TRUST_PROXY applied). */
  ip?: string;
  originalUrl?: string;
}
