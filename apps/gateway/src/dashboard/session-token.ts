import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Dashboard session tokens: `<expiry epoch s>.<nonce>.<mac>`, the mac an HMAC-SHA256 under a
 * key derived from the admin key. The cookie never holds the admin key; changing the admin
 * key ends every session; replicas sharing the admin key accept each other's sessions, and
 * sessions survive a restart (the page reconnects by itself).
 */
export class SessionTokens {
  private readonly key: Buffer;

  constructor(
    adminKey: string,
    /** Lifetime of a session in seconds. @default 43200 (12 h) */
    readonly ttlSeconds = 43_200,
  ) {
    this.key = createHmac('sha256', adminKey).update('breakwater dashboard session v1').digest();
  }

  /** A new token valid for {@link ttlSeconds} from `now` (epoch ms). */
  issue(now = Date.now()): string {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    const body = `${exp}.${randomBytes(12).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  /** Whether `token` was issued with this key and has not expired at `now`. */
  verify(token: string, now = Date.now()): boolean {
    const parts = token.split('.');
    if (parts.length !== 3 || !/^\d{1,12}$/.test(parts[0])) return false;
    if (Number(parts[0]) * 1000 <= now) return false;
    const expected = Buffer.from(this.mac(`${parts[0]}.${parts[1]}`));
    const given = Buffer.from(parts[2]);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
