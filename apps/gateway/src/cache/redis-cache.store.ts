import { RedisService } from '@app/redis';
import { decodeRecord, encodeRecord } from './cache-codec.js';
import { type CacheRecord, CacheStore } from './cache.store.js';

/**
 * The cache shared by every replica: one binary value per record (`<prefix>cache:<key>`),
 * with a TTL of freshness + stale-if-error window, so Redis drops entries by itself. Entries
 * over `maxEntryBytes` are not written. The total is bounded by those TTLs and by Redis's own
 * `maxmemory` policy (see docs/caching-reload-tls.md). While Redis is down every call
 * rejects or returns nothing at once (no offline queue): the interceptor serves a miss.
 */
export class RedisCacheStore extends CacheStore {
  readonly kind = 'redis';

  constructor(
    private readonly redis: RedisService,
    private readonly maxEntryBytes: number,
  ) {
    super();
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const client = this.redis.client;
    if (!client || !this.redis.up) return undefined;
    const value = await client.getBuffer(this.redis.key('cache', key));
    return value ? decodeRecord(value) : undefined;
  }

  async set(key: string, record: CacheRecord, ttlMs: number): Promise<void> {
    const client = this.redis.client;
    const ttl = Math.floor(ttlMs);
    if (!client || !this.redis.up || ttl <= 0) return;
    const value = encodeRecord(record);
    if (value.length > this.maxEntryBytes + 64 * 1024) return;
    await client.set(this.redis.key('cache', key), value, 'PX', ttl);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const client = this.redis.client;
    if (!client || !this.redis.up) return;
    // One DEL per key: a cluster refuses multi-key commands across slots.
    await Promise.all(keys.map((key) => client.del(this.redis.key('cache', key))));
  }
}
