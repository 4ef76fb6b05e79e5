import { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the ones undici or HTTP/1.1 framing owns. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Request headers the gateway sets or removes itself. */
const GATEWAY_OWNED = new Set(['host', 'x-consumer-name', 'x-request-id', 'expect', 'content-length']);

function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (!value) return null;
  const joined = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const t of joined.split(',')) {
    const token = t.trim().toLowerCase();
    if (token) tokens.add(token);
  }
  return tokens;
}

export interface ForwardedFacts {
  /**
   * The address this hop received the request from, appended to X-Forwarded-For: the socket's peer,
   * not the client address computed from the chain with TRUST_PROXY.
   */
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** The client's Host: the trusted proxy's X-Forwarded-Host (default: the request's own Host). */
  readonly host?: string;
  readonly requestId: string;
  /** Verified key name (null: anonymous). */
  readonly consumer: string | null;
  /** The gateway credential came in X-API-Key (strip it). */
  readonly stripApiKey: boolean;
  /** The gateway credential came in Authorization (strip it). */
  readonly stripAuthorization: boolean;
  /** Body length to announce (null: none or streamed chunked). */
  readonly contentLength: number | null;
}

/**
 * The headers sent upstream: the client's, minus hop-by-hop ones (also those named in
 * `Connection`), minus the gateway's credential and any client-sent `X-Consumer-Name`; plus
 * `X-Forwarded-*`, `X-Request-Id` and the verified `X-Consumer-Name`.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  facts: ForwardedFacts,
): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || GATEWAY_OWNED.has(name) || named?.has(name)) continue;
    if (name === 'x-api-key' && facts.stripApiKey) continue;
    if (name === 'authorization' && facts.stripAuthorization) continue;
    if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue;
    out[name] = value;
  }
  const prior = incoming['x-forwarded-for'];
  const priorList = Array.isArray(prior) ? prior.join(', ') : prior;
  out['x-forwarded-for'] = priorList ? `${priorList}, ${facts.clientIp}` : facts.clientIp;
  out['x-forwarded-proto'] = facts.proto;
  const host = facts.host ?? incoming.host;
  if (host) out['x-forwarded-host'] = host;
  out['x-request-id'] = facts.requestId;
  if (facts.consumer) out['x-consumer-name'] = facts.consumer;
  if (facts.contentLength !== null) out['content-length'] = String(facts.contentLength);
  return out;
}

/** The upstream's response headers for the client: hop-by-hop ones removed. */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    // The gateway's request id is the one the client gets back (the upstream saw it too).
    if (name === 'x-request-id') continue;
    out[name] = value;
  }
  return out;
}
