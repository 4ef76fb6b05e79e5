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
export interface RequestContext {
  readonly requestId: string;
  readonly start: number;
  /** Came in on the management listener. */
  readonly management: boolean;
  /** `service` label: a configured name, `unknown`, or `gateway` for the gateway's own endpoints. */
  serviceLabel: string;
  target: ProxyTarget | null;
  /** Verified API-key name (null: anonymous). */
  consumer: string | null;
  /** The client's address (after TRUST_PROXY). */
  clientIp: string;
  /** Instance of the last try. */
  instance: InstanceConfig | null;
  retries: number;
  cache: 'HIT' | 'MISS' | 'STALE' | 'BYPASS' | null;
  /** Set once the response has started (status + headers sent). */
  committed: boolean;
  /** Aborted when the client goes away before the response is complete. */
  readonly clientGone: AbortSignal;
  /** State of the proxied exchange across tries (set by the proxy on the first try). */
  exchange?: Exchange;
}

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
