/* Pure rules for turning a client's request-target into the path sent upstream. */

/** Gateway-owned prefix under which every service is reachable. */
export const SERVICE_PREFIX = '/v1/proxy/';

export type PathVerdict = { ok: true; path: string } | { ok: false; reason: string };

const ENCODED_DOT = /%2e/gi;
const ENCODED_SEPARATOR = /%2f|%5c/gi;

/**
 * Resolves the dot-segments of `rest` (a path below a mount, '' or starting with '/').
 * Refuses it when they would climb above the mount, also when the dots or slashes are
 * percent-encoded (`%2e`, `%2f`, `%5c`), written as backslashes or followed by `;params`. An encoded slash that
 * stays inside is kept encoded (`group%2Fproject` ids).
 */
export function confinePath(rest: string): PathVerdict {
  if (rest === '') return { ok: true, path: '' };
  if (/%00|\0/.test(rest)) return { ok: false, reason: 'path contains a NUL byte' };
  if (/%(?![0-9a-fA-F]{2})/.test(rest)) return { ok: false, reason: 'path has a malformed percent-encoding' };

  if (climbs(rest)) return { ok: false, reason: 'path leaves the service prefix' };

  // Forward pass: resolve literal (or %2e-encoded) dot segments, keep everything else as sent.
  const out: string[] = [];
  const segments = rest.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const dots = seg.replace(ENCODED_DOT, '.');
    if (dots === '.') {
      if (i === segments.length - 1) out.push('');
      continue;
    }
    if (dots === '..') {
      out.pop();
      if (i === segments.length - 1) out.push('');
      continue;
    }
    out.push(seg);
  }
  const path = `/${out.join('/')}`;
  // Resolving literal dots can join what the check saw apart (`a\\/../\\..` → `\\..`): check the result too.
  if (climbs(path)) return { ok: false, reason: 'path leaves the service prefix' };
  return { ok: true, path };
}

/**
 * Check pass: would the path climb above its start under the most aggressive decoding any
 * upstream might apply (`%2e` as dots, `%2f`/`%5c`/backslash as separators, `;params` dropped)?
 */
function climbs(path: string): boolean {
  const suspicious = path.replace(ENCODED_DOT, '.').replace(ENCODED_SEPARATOR, '/').replace(/\\/g, '/');
  let depth = 0;
  for (const raw of suspicious.split('/')) {
    // Servlet containers (Tomcat, Jetty) drop `;params` before resolving: `..;x` counts as `..`.
    const semi = raw.indexOf(';');
    const seg = semi === -1 ? raw : raw.slice(0, semi);
    if (seg === '..') {
      if (depth === 0) return true;
      depth--;
    } else if (seg !== '' && seg !== '.') depth++;
  }
  return false;
}

/** Joins a base path, a mount rewrite and the rest; never returns ''. */
export function joinUpstreamPath(basePath: string, prefix: string, rest: string, query: string): string {
  const path = `${basePath}${prefix}${rest}` || '/';
  return query ? `${path}?${query}` : path;
}

/** Splits a request-target into its path and query (without '?'). */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}
