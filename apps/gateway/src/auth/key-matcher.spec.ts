import { createHash } from 'node:crypto';
import { hashKey, KeyMatcher } from './key-matcher.js';
import { presentedKey } from './credentials.js';

const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('key matching', () => {
  it('hashes every key to 32 bytes, whatever its length', () => {
    for (const key of ['', 'x', 'a-normal-api-key-123', 'k'.repeat(16_384), 'ключ-🔑']) {
      expect(hashKey(key)).toHaveLength(32);
    }
  });

  it('compares presented keys of any length against stored digests (no length mismatch reaches timingSafeEqual)', () => {
    const matcher = KeyMatcher.from(
      [{ name: 'alice', key: 'alice-key-0001' }],
      [{ name: 'bob', sha256: sha256hex('bob-key-0002') }],
    );
    expect(matcher.size).toBe(2);
    // Inline keys are hashed on load, file keys arrive hashed: the two sides meet as 32-byte digests.
    expect(matcher.match('alice-key-0001')).toBe('alice');
    expect(matcher.match('bob-key-0002')).toBe('bob');
    expect(matcher.match('bob-key-000')).toBeNull(); // a prefix
    expect(matcher.match('bob-key-00022')).toBeNull(); // longer
    expect(matcher.match('')).toBeNull();
    expect(matcher.match('z'.repeat(100_000))).toBeNull();
    expect(matcher.match(sha256hex('bob-key-0002'))).toBeNull(); // the digest itself is not a key
  });

  it('refuses a stored digest that is not 32 bytes', () => {
    expect(() => new KeyMatcher([{ name: 'bad', sha256: Buffer.alloc(31) }])).toThrow(/32 bytes/);
  });

  it('matches nothing when there are no keys', () => {
    expect(new KeyMatcher([]).match('anything')).toBeNull();
  });

  it('reads the key from X-API-Key, else from Authorization: Bearer, and ignores other schemes', () => {
    expect(presentedKey({ 'x-api-key': 'k1' })).toBe('k1');
    expect(presentedKey({ authorization: 'Bearer k2' })).toBe('k2');
    expect(presentedKey({ authorization: 'bearer   k3 ' })).toBe('k3');
    expect(presentedKey({ 'x-api-key': 'k1', authorization: 'Bearer k2' })).toBe('k1');
    expect(presentedKey({ authorization: 'Basic dXNlcjpwYXNz' })).toBeNull();
    expect(presentedKey({ authorization: 'Bearer' })).toBeNull();
    expect(presentedKey({ 'x-api-key': '' })).toBeNull();
    expect(presentedKey({})).toBeNull();
  });
});
