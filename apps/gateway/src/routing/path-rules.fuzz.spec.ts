import fc from 'fast-check';
import { upstreamRequestHeaders } from '../proxy/header-rules.js';
import { confinePath } from './path-rules.js';

/*
 * Property tests (issue 11) over the path and header rules: random input never throws, and
 * whatever is accepted can never climb out of the service's prefix, however an upstream decodes it.
 */

const segment = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E%2e',
    '.%2e',
    '%2e',
    '..%2f',
    '%2f..',
    '..%5c',
    '\\..',
    'a',
    'b%2Fc',
    '%00',
    '%zz',
    '',
    '%',
    '%2',
  ),
  fc.string({ maxLength: 6 }),
);
const path = fc.array(segment, { maxLength: 8 }).map((segs) => `/${segs.join('/')}`);

/** Decodes the way the most permissive upstream might, then resolves dot-segments: depth < 0 means escaped. */
function escapes(p: string): boolean {
  let decoded = p;
  try {
    decoded = decodeURIComponent(p);
  } catch {
    /* keep raw */
  }
  let depth = 0;
  for (const seg of decoded.replace(/\\/g, '/').split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '' && seg !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

describe('confinePath', () => {
  it('never throws, and an accepted path never leaves the prefix', () => {
    fc.assert(
      fc.property(path, (p) => {
        const verdict = confinePath(p);
        if (verdict.ok) {
          expect(verdict.path.startsWith('/')).toBe(true);
          expect(escapes(verdict.path)).toBe(false);
          expect(verdict.path).not.toMatch(/%00/);
        } else {
          expect(typeof verdict.reason).toBe('string');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('random full strings never throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const verdict = confinePath(`/${s}`);
        if (verdict.ok) expect(escapes(verdict.path)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('upstreamRequestHeaders', () => {
  const headerName = fc.oneof(
    fc.constantFrom(
      'connection',
      'keep-alive',
      'te',
      'trailer',
      'transfer-encoding',
      'upgrade',
      'proxy-authorization',
      'x-consumer-name',
      'x-api-key',
      'authorization',
      'host',
      'x-forwarded-for',
      'x-custom',
      'expect',
    ),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
  );
  it('never forwards hop-by-hop headers, headers named in Connection, or a client-sent X-Consumer-Name', () => {
    fc.assert(
      fc.property(
        fc.dictionary(headerName, fc.string({ maxLength: 20 }), { maxKeys: 10 }),
        fc.option(fc.stringMatching(/^[a-z]{1,8}$/)),
        (headers, consumer) => {
          const out = upstreamRequestHeaders(headers, {
            clientIp: '10.0.0.1',
            proto: 'http',
            requestId: 'rid',
            consumer,
            stripApiKey: consumer !== null,
            stripAuthorization: false,
            contentLength: null,
          });
          for (const h of [
            'connection',
            'keep-alive',
            'te',
            'trailer',
            'transfer-encoding',
            'upgrade',
            'proxy-authorization',
            'host',
            'expect',
          ]) {
            expect(out[h]).toBeUndefined();
          }
          const named = String(headers.connection ?? '')
            .split(',')
            .map((t) => t.trim().toLowerCase())
            .filter(
              (t) =>
                t &&
                ![
                  'x-forwarded-for',
                  'x-forwarded-proto',
                  'x-forwarded-host',
                  'x-request-id',
                  'x-consumer-name',
                ].includes(t),
            );
          for (const n of named) expect(out[n]).toBeUndefined();
          expect(out['x-consumer-name']).toBe(consumer ?? undefined);
          if (consumer !== null) expect(out['x-api-key']).toBeUndefined();
          expect(String(out['x-forwarded-for']).endsWith('10.0.0.1')).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
