import { type InlineApiKey, type RetryOutcome, type TrustProxy } from './env.schema.js';

export type { InlineApiKey, RetryOutcome, TrustProxy };

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly initialBackoffMs: number;
  readonly multiplier: number;
  readonly maxBackoffMs: number;
  readonly retryOn: readonly RetryOutcome[];
  readonly budget: { readonly ratio: number; readonly minPerSecond: number };
}

export interface BreakerPolicy {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  readonly halfOpenMaxRequests: number;
  readonly successThreshold: number;
}

export interface RateLimitPolicy {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

export interface CachePolicy {
  readonly ttlSeconds: number;
  readonly staleIfErrorSeconds: number;
  readonly shareAcrossConsumers: boolean;
}

/** One upstream instance of a service. */
export interface InstanceConfig {
  /** `service/host:port`: the breaker's and the logs' name for it. */
  readonly id: string;
  readonly service: string;
  /** `http://host:port` */
  readonly origin: string;
  /** Base path prepended to forwarded paths ('' for none). */
  readonly basePath: string;
  /** `host:port` as written in the routes file: the `upstream` metric label. */
  readonly hostPort: string;
}

export interface ServiceConfig {
  readonly name: string;
  readonly instances: readonly InstanceConfig[];
  readonly timeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly circuitBreaker: BreakerPolicy;
  /** null: not rate-limited. */
  readonly rateLimit: RateLimitPolicy | null;
  /** null: not cached. */
  readonly cache: CachePolicy | null;
  readonly auth: 'required' | 'none';
}

export interface RouteConfig {
  /** Mount path without trailing slash, e.g. `/api/v1/data`. */
  readonly path: string;
  readonly service: string;
  /** What replaces `path` upstream ('' = strip it). */
  readonly rewrite: string;
}

/** The routes table as loaded from the routes file (plus UPSTREAM_URL), policies resolved. */
export interface RoutesConfig {
  readonly services: ReadonlyMap<string, ServiceConfig>;
  /** Longest path first. */
  readonly routes: readonly RouteConfig[];
  /** The file it came from (null: none). */
  readonly source: string | null;
  /** sha256 of the file's text: the config version shown on the dashboard. */
  readonly version: string;
}

/** Process-wide settings from the environment. */
export interface GatewayEnv {
  readonly port: number;
  readonly host: string;
  readonly managementPort: number | null;
  readonly gatewayConfig: { readonly path: string; readonly explicit: boolean };
  readonly upstreamUrl: string | null;
  readonly redis: {
    readonly url: string | null;
    readonly cluster: boolean;
    readonly keyPrefix: string;
    readonly commandTimeoutMs: number;
  };
  readonly apiKeys: { readonly inline: readonly InlineApiKey[]; readonly file: string | null };
  readonly adminApiKey: string | null;
  readonly trustProxy: TrustProxy;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  readonly logLevel: string;
  readonly defaults: {
    readonly timeoutMs: number;
    readonly totalTimeoutMs: number;
    readonly retry: RetryPolicy;
    readonly circuitBreaker: BreakerPolicy;
    readonly rateLimit: RateLimitPolicy;
  };
  readonly rateLimitEnabled: boolean;
  readonly shutdownDrainMs: number;
  readonly bodyLimitBytes: number;
  /** Node server limits, set on purpose (slow clients, oversized headers). */
  readonly server: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly maxHeaderBytes: number;
  };
  readonly cache: { readonly maxEntryBytes: number; readonly maxTotalBytes: number };
  readonly dashboard: { readonly enabled: boolean; readonly drill: boolean };
}

export interface GatewayConfig {
  readonly env: GatewayEnv;
  readonly routes: RoutesConfig;
}
