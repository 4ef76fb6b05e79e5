import { LRUCache } from 'lru-cache';
import { type CacheRecord, CacheStore, recordSize } from './cache.store.js';

/** Caps of the memory store (CACHE_MAX_ENTRY_BYTES, CACHE_MAX_TOTAL_BYTES). */
export interface MemoryCacheLimits {
  readonly maxEntryBytes: number;
  readonly maxTotalBytes: number;
}

/**
 * The embedded cache (no Redis): an LRU bounded by total bytes, each entry by its own cap,
 * each with its TTL (freshness + stale-if-error window). A cap of 0 disables it.
 */
export class MemoryCacheStore extends CacheStore {
  readonly kind = 'memory';
  private readonly lru: LRUCache<string, CacheRecord> | null;

  constructor(limits: MemoryCacheLimits) {
    super();
    const total = Math.floor(limits.maxTotalBytes);
    const entry = Math.min(
      Math.floor(limits.maxEntryBytes) + recordSize({ kind: 'vary', names: [], nonce: '' }) + 64 * 1024,
      total,
    );
    this.lru =
      total > 0 && limits.maxEntryBytes > 0
        ? new LRUCache<string, CacheRecord>({ maxSize: total, maxEntrySize: entry, sizeCalculation: recordSize })
        : null;
  }

  get(key: string): Promise<CacheRecord | undefined> {
    return Promise.resolve(this.lru?.get(key));
  }

  set(key: string, record: CacheRecord, ttlMs: number): Promise<void> {
    const ttl = Math.floor(ttlMs);
    if (this.lru && ttl > 0) this.lru.set(key, record, { ttl });
    return Promise.resolve();
  }

  delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.lru?.delete(key);
    return Promise.resolve();
  }

  /** Bytes held now (tests, the dashboard). */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  /** Records held now. */
  get entries(): number {
    return this.lru?.size ?? 0;
  }
}
