import { type CachePolicyObject } from './cache-policy.js';

/** A stored response: what a HIT or a STALE answer is built from. */
export interface CachedResponse {
  readonly kind: 'response';
  readonly status: number;
  /** The upstream's headers as the client gets them (hop-by-hop removed), `Age` recomputed when served. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
  /** http-cache-semantics state (freshness view only: no request headers, no body). */
  readonly policy: CachePolicyObject;
  /** Freshness (s) used because the upstream gave none (`ttlSeconds`); null: the upstream's own. */
  readonly fallbackSeconds: number | null;
  /** `must-revalidate` / `proxy-revalidate`: never served stale. */
  readonly noStale: boolean;
  /** The request headers named by the response's `Vary` and the hash of their values; null without Vary. */
  readonly vary: { readonly names: readonly string[]; readonly hash: string } | null;
}

/**
 * Stored at the primary key of a response that has `Vary`: the variants live at
 * `primary:nonce:hash(values)`. A new nonce (after an invalidation or a changed Vary list)
 * orphans every older variant at once.
 */
export interface VaryMarker {
  readonly kind: 'vary';
  readonly names: readonly string[];
  readonly nonce: string;
}

export type CacheRecord = CachedResponse | VaryMarker;

/**
 * Where cached responses live: in process memory (one replica) or in Redis (shared by
 * replicas). Keys are opaque strings made by `cache-key.ts`. Implementations may reject
 * (Redis down, timeout): the cache interceptor treats that as a miss and never fails the request.
 */
export abstract class CacheStore {
  /** Which store this is, for logs. */
  abstract readonly kind: 'memory' | 'redis';
  abstract get(key: string): Promise<CacheRecord | undefined>;
  /** Stores `record` for `ttlMs`; a record over the per-entry cap is silently not stored. */
  abstract set(key: string, record: CacheRecord, ttlMs: number): Promise<void>;
  abstract delete(keys: readonly string[]): Promise<void>;
}

/** Bytes a record occupies in the memory store (body + headers + bookkeeping). */
export function recordSize(record: CacheRecord): number {
  if (record.kind === 'vary') return 128 + record.names.join(',').length;
  return 512 + record.body.length + headerBytes(record.headers);
}

/** Rough bytes of a header map (names + values), for caps. */
export function headerBytes(headers: Readonly<Record<string, string | string[] | undefined>>): number {
  let n = 0;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    n += name.length + 4;
    if (Array.isArray(v)) for (const x of v) n += x.length + 2;
    else n += v.length;
  }
  return n;
}
