import { type CachedResponse, type CacheRecord } from './cache.store.js';

/* One Redis value per record: 'B' 'W' version, 4-byte length of the JSON metadata, the metadata, the body bytes. */

const MAGIC_0 = 0x42;
const MAGIC_1 = 0x57;
const VERSION = 1;
const HEAD = 7;

/** Serialises a record as one binary value. */
export function encodeRecord(record: CacheRecord): Buffer {
  const body = record.kind === 'response' ? record.body : null;
  const meta = Buffer.from(
    JSON.stringify(record.kind === 'response' ? { ...record, body: undefined } : record),
    'utf8',
  );
  const out = Buffer.allocUnsafe(HEAD + meta.length + (body?.length ?? 0));
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VERSION;
  out.writeUInt32BE(meta.length, 3);
  meta.copy(out, HEAD);
  body?.copy(out, HEAD + meta.length);
  return out;
}

/** Parses what {@link encodeRecord} wrote; undefined for anything else (old format, corruption). */
export function decodeRecord(value: Buffer): CacheRecord | undefined {
  if (value.length < HEAD || value[0] !== MAGIC_0 || value[1] !== MAGIC_1 || value[2] !== VERSION) return undefined;
  const metaLength = value.readUInt32BE(3);
  if (HEAD + metaLength > value.length) return undefined;
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(value.toString('utf8', HEAD, HEAD + metaLength)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (meta.kind === 'vary') {
    return Array.isArray(meta.names) && typeof meta.nonce === 'string' ? (meta as unknown as CacheRecord) : undefined;
  }
  if (
    meta.kind !== 'response' ||
    typeof meta.status !== 'number' ||
    typeof meta.policy !== 'object' ||
    meta.policy === null
  ) {
    return undefined;
  }
  return { ...(meta as unknown as Omit<CachedResponse, 'body'>), body: value.subarray(HEAD + metaLength) };
}
