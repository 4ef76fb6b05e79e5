import { randomUUID } from 'node:crypto';

/** Sane client-supplied request ids are kept: short, no spaces or control characters. */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Keeps a sane `X-Request-Id` from the client, else makes a new one. */
export function resolveRequestId(header: string | string[] | undefined): string {
  if (typeof header === 'string' && SANE_ID.test(header)) return header;
  return randomUUID();
}
