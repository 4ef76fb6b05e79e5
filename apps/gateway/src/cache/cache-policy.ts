import CachePolicy from 'http-cache-semantics';
import { type IncomingHttpHeaders } from 'node:http';
import { type CachePolicy as CacheSettings } from '@app/config';

export type CachePolicyObject = CachePolicy.CachePolicyObject;

/** Statuses a cache may store without explicit freshness (RFC 9110 §15.1): the only ones `ttlSeconds` applies to. */
const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Response headers that decide freshness; the rest of the response is not the policy's business. */
const FRESHNESS_HEADERS = ['cache-control', 'expires', 'date', 'age', 'last-modified', 'pragma'] as const;

/** The library's view is a shared cache that never guesses freshness from Last-Modified. */
const OPTIONS: CachePolicy.Options = { shared: true, cacheHeuristic: 0 };

/** All requests share one host/url in the policy's eyes: the cache key already tells them apart. */
const HOST = 'breakwater';

/**
 * http-cache-semantics' policy with one change: when the upstream gave no freshness of its own,
 * the service's `ttlSeconds` is the freshness lifetime (fractional seconds allowed, which a
 * synthetic `max-age` could not carry).
 */
export class GatewayCachePolicy extends CachePolicy {
  /** Set right after construction; `declare` so no field initializer overwrites it. */
  declare fallbackSeconds: number | null | undefined;

  override maxAge(): number {
    return typeof this.fallbackSeconds === 'number' ? this.fallbackSeconds : super.maxAge();
  }

  /** Whole seconds since the response was generated, for the `Age` header. */
  ageSeconds(): number {
    return Math.max(0, Math.floor(this.age()));
  }

  static restore(obj: CachePolicyObject, fallbackSeconds: number | null): GatewayCachePolicy {
    const policy = GatewayCachePolicy.fromObject(obj) as GatewayCachePolicy;
    policy.fallbackSeconds = fallbackSeconds;
    return policy;
  }
}

/**
 * The request as the policy sees it: only the directives a client may send (`Cache-Control`,
 * `Pragma`) and whether an `Authorization` reaches the upstream (a shared cache must not store
 * those answers unless the upstream allows it). No other header is kept, so nothing a client
 * sent (keys, cookies) ends up in a stored entry; `Vary` is handled by the cache key.
 */
export function requestView(
  method: string,
  headers: IncomingHttpHeaders,
  forwardsAuthorization: boolean,
): CachePolicy.HttpRequest {
  const view: CachePolicy.Headers = { host: HOST };
  if (headers['cache-control'] !== undefined) view['cache-control'] = headers['cache-control'];
  if (headers.pragma !== undefined) view.pragma = headers.pragma;
  if (forwardsAuthorization && headers.authorization !== undefined) view.authorization = 'present';
  return { method, url: '', headers: view };
}

/** Whether the client asked for a fresh answer (`no-cache`, `max-age=0`): it does not wait on another request's answer. */
export function wantsFresh(view: CachePolicy.HttpRequest): boolean {
  const cc = String(view.headers['cache-control'] ?? '').toLowerCase();
  return (
    /(^|[\s,])(no-cache|no-store|max-age\s*=\s*0)\b/.test(cc) || /no-cache/i.test(String(view.headers.pragma ?? ''))
  );
}

export type StoreVerdict =
  | {
      readonly ok: true;
      readonly policy: GatewayCachePolicy;
      readonly fallbackSeconds: number | null;
      readonly noStale: boolean;
      /** Lower-case, sorted, unique names from `Vary` (empty: no Vary). */
      readonly vary: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether an upstream answer may be stored, and how long it is fresh. Refused: `Set-Cookie`,
 * `Vary: *`, `no-store`, `private`, `no-cache` (the gateway does not revalidate), an
 * `Authorization` the upstream did not allow to be shared, statuses the library does not
 * understand, and answers with neither freshness nor a stale-if-error window.
 */
export function assessResponse(
  request: CachePolicy.HttpRequest,
  status: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  settings: CacheSettings,
): StoreVerdict {
  if (headers['set-cookie'] !== undefined) return { ok: false, reason: 'set-cookie' };
  const vary = varyNames(headers.vary);
  if (vary === '*') return { ok: false, reason: 'vary-star' };

  const view: CachePolicy.Headers = {};
  for (const name of FRESHNESS_HEADERS) {
    const v = headers[name];
    if (v !== undefined) view[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  let policy = new GatewayCachePolicy(request, { status, headers: view }, OPTIONS);
  if (!policy.storable()) return { ok: false, reason: 'not-storable' };
  const state = policy.toObject();
  const cc = state.rescc;
  if ('no-cache' in cc) return { ok: false, reason: 'no-cache' };
  // The library refuses even a fresh must-revalidate answer; RFC 9111 only forbids serving it stale.
  const noStale = 'must-revalidate' in cc || 'proxy-revalidate' in cc;
  if (noStale) {
    delete cc['must-revalidate'];
    delete cc['proxy-revalidate'];
    policy = GatewayCachePolicy.restore(state, null);
  }
  const explicit = 'max-age' in cc || 's-maxage' in cc || view.expires !== undefined;
  const fallbackSeconds = explicit ? null : HEURISTICALLY_CACHEABLE.has(status) ? settings.ttlSeconds : 0;
  policy.fallbackSeconds = fallbackSeconds;
  if (storeTtlMs(policy, noStale, settings) <= 0) return { ok: false, reason: 'no-lifetime' };
  return { ok: true, policy, fallbackSeconds, noStale, vary };
}

/** How long to keep an entry: what is left of its freshness plus the stale-if-error window. */
export function storeTtlMs(policy: GatewayCachePolicy, noStale: boolean, settings: CacheSettings): number {
  const window = noStale ? 0 : settings.staleIfErrorSeconds;
  return Math.floor((policy.maxAge() - policy.age() + window) * 1000);
}

/** Whether a stored answer may still stand in for a failed upstream (within `staleIfErrorSeconds` past its freshness). */
export function staleUsable(policy: GatewayCachePolicy, noStale: boolean, settings: CacheSettings): boolean {
  if (noStale) return false;
  return policy.age() < policy.maxAge() + settings.staleIfErrorSeconds;
}

/** `Vary` as sorted unique lower-case names; `'*'` when it contains `*`. */
export function varyNames(value: string | string[] | undefined): readonly string[] | '*' {
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  const names = new Set<string>();
  for (const part of joined.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return '*';
    if (name) names.add(name);
  }
  return [...names].sort();
}
