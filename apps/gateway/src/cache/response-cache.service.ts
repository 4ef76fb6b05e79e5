import { Inject, Injectable } from '@nestjs/common';
import type CachePolicy from 'http-cache-semantics';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type CachePolicy as CacheSettings, GATEWAY_ENV, type GatewayEnv, type ServiceConfig } from '@app/config';
import { GatewayError } from '../common/gateway-error.js';
import { type GatewayRequest, type RequestContext } from '../common/request-context.js';
import { type CacheResult, MetricsService } from '../metrics/metrics.service.js';
import { clientResponseHeaders } from '../proxy/header-rules.js';
import { discardBody, type UpstreamResponse } from '../proxy/proxy-result.js';
import { teeBody } from './body-tee.js';
import { partitionOf, primaryKey, variantKey, varyHash } from './cache-key.js';
import {
  assessResponse,
  GatewayCachePolicy,
  requestView,
  staleUsable,
  storeTtlMs,
  wantsFresh,
} from './cache-policy.js';
import { type CachedResponse, type CacheRecord, CacheStore, headerBytes, type VaryMarker } from './cache.store.js';
import { RequestCoalescer, waitAtMost } from './request-coalescer.js';

type Outcome = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/** Methods that never invalidate (RFC 9110 §9.2.1). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** A Vary marker outlives its variants a little, so their keys stay reachable. */
const MARKER_MIN_TTL_MS = 300_000;
/** Errors of the inner pipeline that a stale answer may stand in for: 502, 503 (circuit open), 504. */
const UPSTREAM_TROUBLE = new Set([502, 503, 504]);

interface Lookup {
  /** Where the entry for this request lives (primary, or the variant of a Vary marker). */
  readonly key: string;
  readonly marker: VaryMarker | null;
  readonly entry: CachedResponse | null;
}

interface Stale {
  readonly entry: CachedResponse;
  readonly policy: GatewayCachePolicy;
}

interface Miss {
  readonly primary: string;
  readonly lookup: Lookup;
  readonly view: CachePolicy.HttpRequest;
  readonly stale: Stale | null;
  /** Set when this request leads the coalesced misses for its key. */
  readonly settle: ((entry: CachedResponse | null) => void) | null;
}

/**
 * The response cache (CONTRACT §4), between the writer and the retry loop: GET and HEAD of
 * services with a `cache` policy. A fresh stored answer ends the request here (`X-Cache: HIT`,
 * `Age`); otherwise the inner pipeline runs (`MISS`) and a storable answer is kept while it
 * streams to the client. When the inner pipeline fails (502, 503 circuit open, 504) or
 * answers 5xx, a stored answer within `staleIfErrorSeconds` past its freshness is served
 * instead (`STALE`). Concurrent misses for one key make one upstream call. Other methods pass
 * (`BYPASS`); a successful unsafe one (POST, PUT, PATCH, DELETE) drops what is stored for its
 * path in its partition. A store that fails (Redis down) is a miss, never an error.
 */
@Injectable()
export class ResponseCache {
  private readonly coalescer = new RequestCoalescer<CachedResponse>();
  private readonly maxEntryBytes: number;

  constructor(
    private readonly store: CacheStore,
    private readonly metrics: MetricsService,
    @Inject(GATEWAY_ENV) env: GatewayEnv,
  ) {
    this.maxEntryBytes = env.cache.maxEntryBytes;
  }

  /**
   * Answers from the cache, or runs `inner` (the retry loop) and keeps what is storable.
   * Services without a `cache` policy go straight to `inner`.
   */
  run(req: GatewayRequest, inner: () => Promise<UpstreamResponse>): Promise<UpstreamResponse> {
    const service = req.bw.target?.service;
    if (!service?.cache) return inner();
    return this.handle(req, service, service.cache, inner);
  }

  /** Misses being fetched right now (leak checks). */
  get inFlight(): number {
    return this.coalescer.size;
  }

  private async handle(
    req: GatewayRequest,
    service: ServiceConfig,
    settings: CacheSettings,
    inner: () => Promise<UpstreamResponse>,
  ): Promise<UpstreamResponse> {
    const ctx = req.bw;
    const method = req.method ?? 'GET';
    const path = ctx.target!.upstreamPath;
    const partition = partitionOf(settings.shareAcrossConsumers, ctx.consumer);
    if (method !== 'GET' && method !== 'HEAD') {
      this.count(ctx, service.name, 'BYPASS');
      const res = await inner();
      // RFC 9111 §4.4: a successful unsafe request invalidates what is stored for its target.
      if (!SAFE_METHODS.has(method) && res.status < 400) {
        const keys = [
          primaryKey(service.name, 'GET', path, partition),
          primaryKey(service.name, 'HEAD', path, partition),
        ];
        this.store.delete(keys).catch(() => undefined);
      }
      return res;
    }

    const primary = primaryKey(service.name, method, path, partition);
    const view = requestView(method, req.headers, forwardsAuthorization(req));
    const lookup = await this.lookup(primary, req);
    let stale: Stale | null = null;
    if (lookup.entry) {
      const policy = GatewayCachePolicy.restore(lookup.entry.policy, lookup.entry.fallbackSeconds);
      if (policy.satisfiesWithoutRevalidation(view)) return this.serve(req, service.name, lookup.entry, policy, 'HIT');
      stale = { entry: lookup.entry, policy };
    }

    const miss = { primary, lookup, view, stale };
    const pending = wantsFresh(view) ? undefined : this.coalescer.pending(lookup.key);
    if (pending) {
      const shared = await waitAtMost(pending, service.totalTimeoutMs, ctx.clientGone);
      if (shared && (shared.vary === null || shared.vary.hash === varyHash(shared.vary.names, req.headers))) {
        const policy = GatewayCachePolicy.restore(shared.policy, shared.fallbackSeconds);
        if (policy.satisfiesWithoutRevalidation(view)) return this.serve(req, service.name, shared, policy, 'HIT');
      }
      // The leader's answer was not storable (or not for this request): go upstream alone.
      return this.fetch(req, service, settings, inner, { ...miss, settle: null });
    }
    const settle = this.coalescer.lead(lookup.key);
    try {
      return await this.fetch(req, service, settings, inner, { ...miss, settle });
    } catch (err) {
      settle(null);
      throw err;
    }
  }

  private async fetch(
    req: GatewayRequest,
    service: ServiceConfig,
    settings: CacheSettings,
    inner: () => Promise<UpstreamResponse>,
    miss: Miss,
  ): Promise<UpstreamResponse> {
    const ctx = req.bw;
    const settle = miss.settle ?? ((): void => undefined);
    const stale = miss.stale && staleUsable(miss.stale.policy, miss.stale.entry.noStale, settings) ? miss.stale : null;
    let res: UpstreamResponse;
    try {
      res = await inner();
    } catch (err) {
      settle(null);
      if (stale && GatewayError.isGatewayError(err) && UPSTREAM_TROUBLE.has(err.status)) {
        return this.serve(req, service.name, stale.entry, stale.policy, 'STALE');
      }
      this.count(ctx, service.name, 'MISS');
      throw err;
    }
    if (res.status >= 500 && stale) {
      settle(null);
      discardBody(res);
      return this.serve(req, service.name, stale.entry, stale.policy, 'STALE');
    }

    this.count(ctx, service.name, 'MISS');
    const answer: UpstreamResponse = { ...res, extraHeaders: { ...res.extraHeaders, 'x-cache': 'MISS' } };
    let handedOff = false;
    try {
      const verdict = assessResponse(miss.view, res.status, res.headers, settings);
      if (!verdict.ok) return answer;
      const headers = storedHeaders(res.headers);
      const room = this.maxEntryBytes - headerBytes(headers);
      // Declared too large: streamed through untouched, not even teed.
      if (room <= 0 || (req.method !== 'HEAD' && Number(res.headers['content-length']) > room)) return answer;
      const vary = verdict.vary.length > 0 ? { names: verdict.vary, hash: varyHash(verdict.vary, req.headers) } : null;
      const body = teeBody(res.body, room, (kept) => {
        if (kept === null) return settle(null);
        const entry: CachedResponse = {
          kind: 'response',
          status: res.status,
          headers,
          body: kept,
          policy: verdict.policy.toObject(),
          fallbackSeconds: verdict.fallbackSeconds,
          noStale: verdict.noStale,
          vary,
        };
        settle(entry);
        void this.save(miss.primary, miss.lookup.marker, entry, storeTtlMs(verdict.policy, verdict.noStale, settings));
      });
      handedOff = true;
      return { ...answer, body };
    } finally {
      if (!handedOff) settle(null);
    }
  }

  private async lookup(primary: string, req: GatewayRequest): Promise<Lookup> {
    const first = await this.get(primary);
    if (!first) return { key: primary, marker: null, entry: null };
    if (first.kind === 'response') return { key: primary, marker: null, entry: first.vary === null ? first : null };
    const key = variantKey(primary, first.nonce, varyHash(first.names, req.headers));
    const second = await this.get(key);
    const entry =
      second?.kind === 'response' && second.vary !== null && sameNames(second.vary.names, first.names) ? second : null;
    return { key, marker: first, entry };
  }

  private async get(key: string): Promise<CacheRecord | undefined> {
    try {
      return await this.store.get(key);
    } catch {
      return undefined; // store unreachable: a miss
    }
  }

  private async save(primary: string, known: VaryMarker | null, entry: CachedResponse, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    try {
      if (entry.vary === null) {
        await this.store.set(primary, entry, ttlMs);
        return;
      }
      let marker = known && sameNames(known.names, entry.vary.names) ? known : null;
      if (!marker) {
        // Another request (or replica) may have written the marker meanwhile: reuse it, so its variants stay reachable.
        const current = await this.store.get(primary);
        marker =
          current?.kind === 'vary' && sameNames(current.names, entry.vary.names)
            ? current
            : { kind: 'vary', names: entry.vary.names, nonce: randomBytes(6).toString('base64url') };
      }
      await this.store.set(primary, marker, Math.max(ttlMs, MARKER_MIN_TTL_MS));
      await this.store.set(variantKey(primary, marker.nonce, entry.vary.hash), entry, ttlMs);
    } catch {
      // store unreachable: the next request is a miss
    }
  }

  private serve(
    req: GatewayRequest,
    service: string,
    entry: CachedResponse,
    policy: GatewayCachePolicy,
    outcome: 'HIT' | 'STALE',
  ): UpstreamResponse {
    this.count(req.bw, service, outcome);
    const head = req.method === 'HEAD';
    const headers: Record<string, string | string[]> = { ...entry.headers };
    if (!head && entry.status !== 204 && entry.status !== 304) headers['content-length'] = String(entry.body.length);
    return {
      status: entry.status,
      headers,
      body: Readable.from(head || entry.body.length === 0 ? [] : [entry.body], { objectMode: false }),
      instance: null,
      extraHeaders: { 'x-cache': outcome, age: String(policy.ageSeconds()) },
    };
  }

  private count(ctx: RequestContext, service: string, outcome: Outcome): void {
    ctx.cache = outcome;
    this.metrics.recordCacheLookup(service, outcome.toLowerCase() as CacheResult);
  }
}

/** Whether the request's `Authorization` reaches the upstream (the gateway's own Bearer key does not). */
function forwardsAuthorization(req: GatewayRequest): boolean {
  const auth = req.headers.authorization;
  if (auth === undefined) return false;
  return !(req.bw.consumer !== null && /^bearer\s/i.test(auth));
}

/** The upstream's headers as stored: hop-by-hop removed, `Age` dropped (recomputed when served). */
function storedHeaders(upstream: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const filtered = clientResponseHeaders(upstream);
  for (const name in filtered) {
    const value = filtered[name];
    if (name === 'age' || value === undefined) continue;
    out[name] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
