import * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';

type OneShotHash = (algorithm: string, data: string, encoding: 'buffer') => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/** SHA-256 of a key: 32 bytes whatever the key's length, so the comparison below never sees two lengths. */
export function hashKey(key: string): Buffer {
  // crypto.hash (one shot, no Hash object) where the runtime has it: this runs on every request.
  return oneShot ? oneShot('sha256', key, 'buffer') : createHash('sha256').update(key, 'utf8').digest();
}

/** A named key, by its SHA-256 (the form API_KEYS_FILE stores; inline keys are hashed on load). */
export interface KeyEntry {
  readonly name: string;
  readonly sha256: Buffer;
}

/**
 * Finds which key a client presented, without timing leaks: the presented key is hashed to a
 * fixed length, then compared with every known digest by `crypto.timingSafeEqual` (all of
 * them, no early exit), so neither the key's length nor its position says anything.
 * @example new KeyMatcher([{ name: 'alice', sha256: hashKey('s3cret-key') }]).match('s3cret-key') // 'alice'
 */
export class KeyMatcher {
  private readonly entries: readonly KeyEntry[];

  constructor(entries: readonly KeyEntry[]) {
    for (const e of entries)
      if (e.sha256.length !== 32) throw new Error(`key "${e.name}": a SHA-256 digest is 32 bytes`);
    this.entries = entries;
  }

  /** From API_KEYS (`name:key`, hashed here) and API_KEYS_FILE (`name:sha256hex`) entries. */
  static from(
    inline: readonly { name: string; key: string }[],
    hashed: readonly { name: string; sha256: string }[],
  ): KeyMatcher {
    return new KeyMatcher([
      ...inline.map((k) => ({ name: k.name, sha256: hashKey(k.key) })),
      ...hashed.map((k) => ({ name: k.name, sha256: Buffer.from(k.sha256, 'hex') })),
    ]);
  }

  /** Number of keys. */
  get size(): number {
    return this.entries.length;
  }

  /** The name of the key `presented` is, or null. */
  match(presented: string): string | null {
    if (this.entries.length === 0) return null;
    return this.matchDigest(hashKey(presented));
  }

  /** {@link match} with the presented key already hashed ({@link hashKey}). */
  matchDigest(digest: Buffer): string | null {
    let found: string | null = null;
    for (const e of this.entries) {
      if (timingSafeEqual(digest, e.sha256) && found === null) found = e.name;
    }
    return found;
  }
}
