import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders } from 'node:http';

function digest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/**
 * The key of everything cached for one resource as one consumer sees it: service, method,
 * upstream path with query, and the partition (`*` shared across consumers, `-` anonymous,
 * else the key name). Hashed: paths and names never appear in Redis key names.
 */
export function primaryKey(service: string, method: string, upstreamPath: string, partition: string): string {
  return digest([service, method, upstreamPath, partition]);
}

/** The partition of a request: shared, anonymous, or the consumer's key name. */
export function partitionOf(shareAcrossConsumers: boolean, consumer: string | null): string {
  if (shareAcrossConsumers) return '*';
  return consumer === null ? '-' : `c:${consumer}`;
}

/** One header's value for Vary matching: repeated fields joined, whitespace runs collapsed; null when absent. */
function normalised(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  const joined = Array.isArray(value) ? value.join(', ') : value;
  return joined.trim().replace(/\s+/g, ' ');
}

/** Hash of the values of the request headers a response's `Vary` names. */
export function varyHash(names: readonly string[], headers: IncomingHttpHeaders): string {
  return digest(names.map((n) => normalised(headers[n]))).slice(0, 24);
}

/** Where one variant of a `Vary` response lives. */
export function variantKey(primary: string, nonce: string, hash: string): string {
  return `${primary}:${nonce}:${hash}`;
}
