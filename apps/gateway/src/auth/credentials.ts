import { type IncomingHttpHeaders } from 'node:http';

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The key a client presented: `X-API-Key`, else an `Authorization: Bearer` token; null when
 * neither is there (another Authorization scheme belongs to the upstream).
 */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey.trim();
  const auth = headers.authorization;
  if (auth === undefined) return null;
  const m = BEARER.exec(auth);
  return m ? m[1]! : null;
}

/** The challenge sent with every 401 (RFC 9110 §11.6.1): both ways to present a key. */
export const WWW_AUTHENTICATE = 'Bearer realm="breakwater", ApiKey realm="breakwater", header="X-API-Key"';
