import { openRaw } from './http.js';

/** A response read off a raw socket (see {@link rawHttp}). */
export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The body, de-chunked when it was chunked (latin1). */
  body: string;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Sends one request byte for byte (the request-target exactly as given: no client library normalises
 * `..` or `%2e` away), `Connection: close` unless given, and parses the first whole answer.
 *
 * @example
 * const res = await rawHttp(gw.port, 'GET', '/v1/proxy/flaky/%2e%2e/x');
 * expect(res.status).toBe(400);
 */
export async function rawHttp(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<RawResponse> {
  let head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  const names = Object.keys(headers).map((h) => h.toLowerCase());
  if (!names.includes('connection')) head += 'Connection: close\r\n';
  if (body && !names.includes('content-length') && !names.includes('transfer-encoding')) {
    head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  }
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const conn = await openRaw(port);
  try {
    await conn.write(`${head}\r\n${body}`);
    // Done when one whole response is in (keep-alive servers do not close), or when the server closes.
    const done = new Promise<void>((resolve) => {
      const check = (): void => {
        if (isComplete(conn.text())) resolve();
      };
      conn.socket.on('data', check);
      void conn.closed.then(() => resolve());
      check();
    });
    const timeout = new Promise<void>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no whole response in 3 s: ${JSON.stringify(conn.text().slice(0, 300))}`)),
        3000,
      ).unref(),
    );
    await Promise.race([done, timeout]);
    return parseRawResponse(conn.text());
  } finally {
    conn.destroy();
  }
}

function isComplete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const head = text.slice(0, end);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) return text.length - end - 4 >= Number(length[1]);
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) return text.endsWith('\r\n0\r\n\r\n');
  return /^HTTP\/1\.1 (1\d\d|204|304)/.test(head);
}

/** Parses the first HTTP/1.1 response in `text` (latin1). @throws when there is none */
export function parseRawResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete HTTP response: ${JSON.stringify(text.slice(0, 300))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = text.slice(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let out = '';
    let rest = body;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, nl), 16);
      if (!(size > 0)) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    body = out;
  } else if (headers['content-length'] !== undefined) {
    body = body.slice(0, Number(headers['content-length']));
  }
  return {
    status: Number(m[1]),
    headers,
    body,
    json() {
      return JSON.parse(body);
    },
  };
}
