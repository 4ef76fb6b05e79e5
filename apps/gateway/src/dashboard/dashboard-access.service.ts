import { Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { AuthFailureLimiter, unauthorized } from '../auth/auth-failures.service.js';
import { presentedKey } from '../auth/credentials.js';
import { hashKey } from '../auth/key-matcher.js';
import { type GatewayError } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';
import { SessionTokens } from './session-token.js';

export const SESSION_COOKIE = 'bw_dashboard';

/** What a request is to the dashboard: let in, anonymous (no credentials at all), or refused. */
export type AccessVerdict = 'ok' | 'anonymous' | GatewayError;

/**
 * Who may see the dashboard. Without ADMIN_API_KEY, everyone (the demo). With it: a request
 * carrying the key (`X-API-Key` or `Authorization: Bearer`, for curl), or a browser holding
 * a session cookie from the login form (HMAC-signed, never the key itself). Wrong keys, in a
 * header or the form, draw from the same per-IP failure budget as API keys (then 429).
 */
@Injectable()
export class DashboardAccess {
  private readonly digest: Buffer | null;
  private readonly tokens: SessionTokens | null;

  constructor(
    @Inject(GATEWAY_ENV) env: GatewayEnv,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.digest = env.adminApiKey === null ? null : hashKey(env.adminApiKey);
    this.tokens = env.adminApiKey === null ? null : new SessionTokens(env.adminApiKey);
  }

  /** Whether a key is required at all. */
  get required(): boolean {
    return this.digest !== null;
  }

  /** Checks the request's key or session cookie. */
  async check(req: GatewayRequest): Promise<AccessVerdict> {
    if (this.digest === null) return 'ok';
    const key = presentedKey(req.headers);
    if (key === null) {
      const token = readCookie(req.headers.cookie, SESSION_COOKIE);
      return token !== null && this.tokens!.verify(token) ? 'ok' : 'anonymous';
    }
    const blocked = this.failures.blockedError(req.bw.clientIp);
    if (blocked !== null) return blocked;
    if (timingSafeEqual(hashKey(key), this.digest)) return 'ok';
    return this.failures.fail(req.bw.clientIp);
  }

  /**
   * Checks a key typed into the login form.
   * @returns a session token, or the error to answer (401 wrong key, 429 too many wrong keys)
   */
  async login(key: string, clientIp: string): Promise<string | GatewayError> {
    if (this.digest === null || this.tokens === null) return unauthorized('no admin key is configured');
    const blocked = this.failures.blockedError(clientIp);
    if (blocked !== null) return blocked;
    if (timingSafeEqual(hashKey(key), this.digest)) return this.tokens.issue();
    return this.failures.fail(clientIp);
  }

  /** `Set-Cookie` value of a new session (Secure when the request came over TLS). */
  sessionCookie(token: string, secure: boolean): string {
    return `${SESSION_COOKIE}=${token}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${this.tokens?.ttlSeconds ?? 0}${secure ? '; Secure' : ''}`;
  }

  /** `Set-Cookie` value that ends the session in the browser. */
  clearCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  }
}

/** The value of cookie `name` in a `Cookie` header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
