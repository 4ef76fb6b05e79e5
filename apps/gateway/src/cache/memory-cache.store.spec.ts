import { decodeRecord, encodeRecord } from './cache-codec.js';
import { type CachedResponse, recordSize } from './cache.store.js';
import { MemoryCacheStore } from './memory-cache.store.js';

function entry(bytes: number, fill = 'x'): CachedResponse {
  return {
    kind: 'response',
    status: 200,
    headers: { 'content-type': 'text/plain', 'set-thing': ['a', 'b'] },
    body: Buffer.alloc(bytes, fill),
    policy: {
      v: 1,
      t: 1,
      sh: true,
      ch: 0,
      imm: 0,
      st: 200,
      resh: {},
      rescc: {},
      m: 'GET',
      a: true,
      reqh: null,
      reqcc: {},
    },
    fallbackSeconds: 1.5,
    noStale: false,
    vary: { names: ['accept'], hash: 'h' },
  };
}

describe('MemoryCacheStore', () => {
  it('stores and returns records, and deletes them', async () => {
    const store = new MemoryCacheStore({ maxEntryBytes: 1000, maxTotalBytes: 100_000 });
    await store.set('a', entry(10), 10_000);
    expect((await store.get('a'))?.kind).toBe('response');
    await store.delete(['a']);
    expect(await store.get('a')).toBeUndefined();
  });

  it('refuses an entry over the per-entry cap', async () => {
    const store = new MemoryCacheStore({ maxEntryBytes: 1000, maxTotalBytes: 1_000_000 });
    await store.set('big', entry(200_000), 10_000);
    expect(await store.get('big')).toBeUndefined();
  });

  it('evicts the least recently used entries past the total cap', async () => {
    const one = recordSize(entry(1000));
    const store = new MemoryCacheStore({ maxEntryBytes: 2000, maxTotalBytes: one * 3 });
    await store.set('a', entry(1000), 10_000);
    await store.set('b', entry(1000), 10_000);
    await store.set('c', entry(1000), 10_000);
    await store.get('a'); // a is now the most recent
    await store.set('d', entry(1000), 10_000);
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBeDefined();
    expect(store.bytes).toBeLessThanOrEqual(one * 3);
    expect(store.entries).toBe(3);
  });

  it('drops entries after their TTL', async () => {
    const store = new MemoryCacheStore({ maxEntryBytes: 1000, maxTotalBytes: 100_000 });
    await store.set('t', entry(1), 20);
    expect(await store.get('t')).toBeDefined();
    await new Promise((r) => setTimeout(r, 40));
    expect(await store.get('t')).toBeUndefined();
  });

  it('is disabled by a zero cap', async () => {
    const store = new MemoryCacheStore({ maxEntryBytes: 0, maxTotalBytes: 100 });
    await store.set('a', entry(1), 10_000);
    expect(await store.get('a')).toBeUndefined();
  });
});

describe('cache codec (Redis values)', () => {
  it('round-trips responses (binary body) and Vary markers', () => {
    const e = entry(300, '\u00ff');
    const back = decodeRecord(encodeRecord(e)) as CachedResponse;
    expect(back).toEqual(e);
    expect(back.body.equals(e.body)).toBe(true);
    const m = { kind: 'vary', names: ['accept'], nonce: 'n1' } as const;
    expect(decodeRecord(encodeRecord(m))).toEqual(m);
  });

  it('returns undefined for anything it did not write', () => {
    expect(decodeRecord(Buffer.from('hello'))).toBeUndefined();
    expect(decodeRecord(Buffer.from([0x42, 0x57, 1, 0, 0, 0, 50, 0x7b]))).toBeUndefined();
    const corrupt = encodeRecord(entry(1));
    corrupt[7] = 0x7d; // the JSON no longer parses
    expect(decodeRecord(corrupt)).toBeUndefined();
  });
});
