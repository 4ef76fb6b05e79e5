import { type CachePolicy as CacheSettings } from '@app/config';
import {
  assessResponse,
  GatewayCachePolicy,
  requestView,
  staleUsable,
  storeTtlMs,
  varyNames,
  wantsFresh,
} from './cache-policy.js';

const settings: CacheSettings = { ttlSeconds: 5, staleIfErrorSeconds: 60, shareAcrossConsumers: false };
const get = requestView('GET', {}, false);

function assess(
  headers: Record<string, string>,
  opts: { status?: number; settings?: CacheSettings; request?: typeof get } = {},
) {
  return assessResponse(opts.request ?? get, opts.status ?? 200, headers, opts.settings ?? settings);
}

function ok(v: ReturnType<typeof assess>) {
  if (!v.ok) throw new Error(`expected storable, got ${v.reason}`);
  return v;
}

describe('assessResponse', () => {
  it('keeps the upstream max-age, and s-maxage over it (shared cache)', () => {
    const v = ok(assess({ 'cache-control': 'max-age=60' }));
    expect(v.fallbackSeconds).toBeNull();
    expect(v.policy.maxAge()).toBe(60);
    expect(v.policy.satisfiesWithoutRevalidation(get)).toBe(true);
    expect(ok(assess({ 'cache-control': 'max-age=60, s-maxage=7' })).policy.maxAge()).toBe(7);
  });

  it('uses ttlSeconds (fractional too) only when the upstream gives no freshness', () => {
    expect(ok(assess({})).policy.maxAge()).toBe(5);
    expect(ok(assess({}, { settings: { ...settings, ttlSeconds: 0.25 } })).policy.maxAge()).toBe(0.25);
    expect(ok(assess({ 'cache-control': 'max-age=2' })).policy.maxAge()).toBe(2);
    const past = new Date(Date.now() + 30_000).toUTCString();
    expect(ok(assess({ expires: past, date: new Date().toUTCString() })).fallbackSeconds).toBeNull();
    // Last-Modified alone is no freshness: no heuristic guess, ttlSeconds instead.
    expect(ok(assess({ 'last-modified': 'Mon, 01 Jan 2001 00:00:00 GMT' })).policy.maxAge()).toBe(5);
  });

  it.each([
    ['no-store', { 'cache-control': 'no-store' }, 'not-storable'],
    ['private', { 'cache-control': 'private, max-age=60' }, 'not-storable'],
    ['no-cache', { 'cache-control': 'no-cache, max-age=60' }, 'no-cache'],
    ['Set-Cookie', { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=1' }, 'set-cookie'],
    ['Vary: *', { 'cache-control': 'max-age=60', vary: 'Accept, *' }, 'vary-star'],
  ])('refuses %s', (_name, headers, reason) => {
    expect(assess(headers)).toEqual({ ok: false, reason });
  });

  it('refuses answers with neither freshness nor a stale window, and statuses it does not understand', () => {
    expect(assess({}, { settings: { ...settings, ttlSeconds: 0, staleIfErrorSeconds: 0 } })).toEqual({
      ok: false,
      reason: 'no-lifetime',
    });
    expect(ok(assess({}, { settings: { ...settings, ttlSeconds: 0 } })).policy.maxAge()).toBe(0); // kept for stale-if-error only
    expect(assess({ 'cache-control': 'max-age=60' }, { status: 500 })).toEqual({ ok: false, reason: 'not-storable' });
    expect(assess({}, { status: 302 })).toEqual({ ok: false, reason: 'not-storable' });
  });

  it('does not store an answer to a request whose Authorization reaches the upstream, unless the upstream allows it', () => {
    const authed = requestView('GET', { authorization: 'Basic eDp5' }, true);
    expect(assess({ 'cache-control': 'max-age=60' }, { request: authed })).toEqual({
      ok: false,
      reason: 'not-storable',
    });
    expect(assess({ 'cache-control': 'public, max-age=60' }, { request: authed }).ok).toBe(true);
    // The gateway's own credential is stripped before the upstream: it does not count.
    expect(
      assess({ 'cache-control': 'max-age=60' }, { request: requestView('GET', { authorization: 'Bearer k' }, false) })
        .ok,
    ).toBe(true);
  });

  it('serves a fresh must-revalidate answer, never a stale one', () => {
    const v = ok(assess({ 'cache-control': 'max-age=60, must-revalidate' }));
    expect(v.noStale).toBe(true);
    expect(v.policy.satisfiesWithoutRevalidation(get)).toBe(true);
    expect(staleUsable(v.policy, v.noStale, settings)).toBe(false);
    expect(storeTtlMs(v.policy, v.noStale, settings)).toBeLessThanOrEqual(60_000);
  });

  it('keeps an entry for freshness + stale window, and serves it stale within that window only', () => {
    const v = ok(assess({ 'cache-control': 'max-age=10' }));
    expect(storeTtlMs(v.policy, false, settings)).toBeGreaterThan(69_000);
    const old = ok(assess({ 'cache-control': 'max-age=10', age: '65' }));
    expect(old.policy.satisfiesWithoutRevalidation(get)).toBe(false);
    expect(staleUsable(old.policy, false, settings)).toBe(true);
    const older = assess({ 'cache-control': 'max-age=10', age: '75' });
    expect(older).toEqual({ ok: false, reason: 'no-lifetime' });
  });

  it('honours the client: no-cache and max-age=0 want a fresh answer; max-age limits the age', () => {
    const v = ok(assess({ 'cache-control': 'max-age=60', age: '30' }));
    expect(v.policy.satisfiesWithoutRevalidation(requestView('GET', { 'cache-control': 'no-cache' }, false))).toBe(
      false,
    );
    expect(v.policy.satisfiesWithoutRevalidation(requestView('GET', { pragma: 'no-cache' }, false))).toBe(false);
    expect(v.policy.satisfiesWithoutRevalidation(requestView('GET', { 'cache-control': 'max-age=10' }, false))).toBe(
      false,
    );
    expect(v.policy.satisfiesWithoutRevalidation(requestView('GET', { 'cache-control': 'max-age=40' }, false))).toBe(
      true,
    );
    expect(wantsFresh(requestView('GET', { 'cache-control': 'max-age=0' }, false))).toBe(true);
    expect(wantsFresh(requestView('GET', { 'cache-control': 'max-age=10' }, false))).toBe(false);
    expect(wantsFresh(get)).toBe(false);
  });

  it('survives a round trip through toObject/restore, the ttlSeconds freshness included', () => {
    const v = ok(assess({}, { settings: { ...settings, ttlSeconds: 0.5 } }));
    const back = GatewayCachePolicy.restore(JSON.parse(JSON.stringify(v.policy.toObject())), v.fallbackSeconds);
    expect(back.maxAge()).toBe(0.5);
    expect(back.satisfiesWithoutRevalidation(get)).toBe(true);
    expect(back.ageSeconds()).toBe(0);
  });

  it('keeps no request header in the stored policy', () => {
    const request = requestView('GET', { 'x-api-key': 'secret', cookie: 'c=1', 'accept-language': 'fr' }, false);
    const v = ok(assess({ 'cache-control': 'max-age=60', vary: 'Accept-Language' }, { request }));
    expect(JSON.stringify(v.policy.toObject())).not.toMatch(/secret|c=1|fr/);
    expect(v.vary).toEqual(['accept-language']);
  });
});

describe('varyNames', () => {
  it('lower-cases, dedupes and sorts; * wins', () => {
    expect(varyNames(undefined)).toEqual([]);
    expect(varyNames('Accept-Language, accept , X-Tenant')).toEqual(['accept', 'accept-language', 'x-tenant']);
    expect(varyNames(['Accept', 'accept-encoding'])).toEqual(['accept', 'accept-encoding']);
    expect(varyNames('Accept, *')).toBe('*');
  });
});
