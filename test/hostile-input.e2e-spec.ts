import { createServer, type Server } from 'node:net';
import {
  type FlakyProc,
  freePort,
  type GatewayProc,
  openRaw,
  rawRequest,
  request,
  sleep,
  startFlaky,
  startGateway,
} from './helpers/index.js';

/*
 * Hostile input (issue 11): request smuggling, header and path abuse, SSRF attempts and slow
 * clients. Each case asserts the answer AND that nothing reached the upstream (flaky's own
 * counts) or another host (a canary listener that must see no connection).
 */

let flaky: FlakyProc;
let gw: GatewayProc;
let canary: Server;
let canaryPort: number;
let canaryConnections = 0;

const statusOf = (raw: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);

beforeAll(async () => {
  canaryPort = await freePort();
  canary = createServer((socket) => {
    canaryConnections++;
    socket.destroy();
  });
  await new Promise<void>((r) => canary.listen(canaryPort, '127.0.0.1', () => r()));
  flaky = await startFlaky({ env: { FLAKY_FAILURE_RATE: '0', FLAKY_DELAY_RATE: '0' } });
  gw = await startGateway({
    routes: { services: { flaky: { instances: [flaky.url], retry: { maxRetries: 0 }, rateLimit: false } } },
    env: {
      SHUTDOWN_DRAIN_MS: '200',
      SERVER_HEADERS_TIMEOUT_MS: '600',
      SERVER_REQUEST_TIMEOUT_MS: '1200',
      BODY_LIMIT_BYTES: '1000000',
    },
  });
});

afterAll(async () => {
  await new Promise<void>((r) => canary.close(() => r()));
});

beforeEach(async () => {
  await flaky.resetCounts();
});

async function upstreamHits(): Promise<number> {
  return (await flaky.counts()).total;
}

describe('request smuggling: refused with 400, nothing forwarded', () => {
  const cases: [string, string][] = [
    [
      'Content-Length and Transfer-Encoding both',
      'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/proxy/flaky/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    ],
    [
      'duplicate, different Content-Length',
      'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc',
    ],
    ['non-numeric Content-Length', 'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\nabc'],
    ['negative Content-Length', 'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
    [
      'obfuscated Transfer-Encoding (space before colon)',
      'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'obfuscated Transfer-Encoding (xchunked)',
      'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'Transfer-Encoding with chunked not last',
      'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    ],
    [
      'obfuscated Transfer-Encoding (line folding)',
      'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'bad chunk size',
      'POST /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    ],
  ];
  it.each(cases)('%s', async (_name, raw) => {
    const text = await rawRequest(gw.port, raw, { timeoutMs: 1500 });
    // 400 (or 501 for an unknown transfer coding), never a forwarded request.
    expect([400, 501]).toContain(statusOf(text));
    expect(text).not.toContain('smuggled');
    expect(await upstreamHits()).toBe(0);
  });
});

describe('header and path abuse', () => {
  it('CRLF in a header value is refused (400) and never reaches the upstream', async () => {
    const text = await rawRequest(
      gw.port,
      'GET /v1/proxy/flaky/echo/a HTTP/1.1\r\nHost: x\r\nX-Evil: a\rSet-Cookie: pwned=1\r\n\r\n',
      { timeoutMs: 1500 },
    );
    expect(statusOf(text)).toBe(400);
    expect(await upstreamHits()).toBe(0);
  });

  it('an encoded CRLF in the path stays encoded: no header is injected into the answer', async () => {
    const res = await request(`${gw.url}/v1/proxy/flaky/echo/a%0d%0aSet-Cookie:%20pwned=1`);
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.json().path).toBe('/echo/a%0d%0aSet-Cookie:%20pwned=1');
  });

  it('oversized headers (> MAX_HEADER_BYTES, 16 KiB) → 431 problem+json; a URL over 8 KiB → 414', async () => {
    const big = await rawRequest(
      gw.port,
      `GET /v1/proxy/flaky/ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      { timeoutMs: 1500 },
    );
    expect(statusOf(big)).toBe(431);
    expect(big).toContain('application/problem+json');
    expect(big).toContain('"code":"HEADERS_TOO_LARGE"');
    const long = await request(`${gw.url}/v1/proxy/flaky/ok?q=${'a'.repeat(8200)}`);
    expect(long.status).toBe(414);
    expect(long.json()).toMatchObject({ code: 'URI_TOO_LONG' });
    expect(await upstreamHits()).toBe(0);
  });

  it('NUL bytes: raw in a header → 400; encoded in the path → 400', async () => {
    const raw = await rawRequest(gw.port, 'GET /v1/proxy/flaky/ok HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n', {
      timeoutMs: 1500,
    });
    expect(statusOf(raw)).toBe(400);
    expect((await request(`${gw.url}/v1/proxy/flaky/echo/a%00b`)).status).toBe(400);
    expect(await upstreamHits()).toBe(0);
  });

  it.each([
    '/v1/proxy/flaky/../../etc/passwd',
    '/v1/proxy/flaky/%2e%2e/%2e%2e/etc/passwd',
    '/v1/proxy/flaky/%2E%2E%2Fadmin',
    '/v1/proxy/flaky/..%2f..%2fadmin',
    '/v1/proxy/flaky/..%5c..%5cadmin',
    '/v1/proxy/flaky/.%2e/admin',
    '/v1/proxy/flaky/a/../../admin',
  ])('traversal %s → 400, nothing forwarded', async (path) => {
    const text = await rawRequest(gw.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, {
      timeoutMs: 1500,
    });
    expect(statusOf(text)).toBe(400);
    expect(await upstreamHits()).toBe(0);
  });

  it('absolute-form request-targets and //host paths never make the gateway call another host (SSRF)', async () => {
    const abs = await rawRequest(
      gw.port,
      `GET http://127.0.0.1:${canaryPort}/x HTTP/1.1\r\nHost: 127.0.0.1:${canaryPort}\r\nConnection: close\r\n\r\n`,
      { timeoutMs: 1500 },
    );
    expect(statusOf(abs)).toBe(400);
    const absProxied = await rawRequest(
      gw.port,
      `GET http://127.0.0.1:${canaryPort}/v1/proxy/flaky/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      { timeoutMs: 1500 },
    );
    expect(statusOf(absProxied)).toBe(400);
    // `//host` after the prefix is a path on the service's own instance, nothing else.
    const slashes = await request(`${gw.url}/v1/proxy/flaky//127.0.0.1:${canaryPort}/x`);
    expect(slashes.status).toBe(404); // flaky's own 404 for that path
    expect(slashes.headers['x-instance-id']).toBeDefined();
    const root = await request(`${gw.url}//127.0.0.1:${canaryPort}/x`);
    expect(root.status).toBe(404);
    // A Host header naming another host changes nothing: Host is the upstream's.
    const host = await request(`${gw.url}/v1/proxy/flaky/echo/h`, { headers: { host: `127.0.0.1:${canaryPort}` } });
    expect(host.status).toBe(200);
    expect(host.json().headers.host).toBe(flaky.hostPort);
    expect(canaryConnections).toBe(0);
  });
});

describe('slow clients', () => {
  it('headers trickled byte by byte: the connection is closed by the server; other clients are unaffected', async () => {
    const conn = await openRaw(gw.port);
    const head = 'GET /v1/proxy/flaky/ok HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let written = 0;
    const trickle = (async () => {
      for (const ch of head + 'a'.repeat(200)) {
        try {
          await conn.write(ch);
        } catch {
          return;
        }
        written++;
        await sleep(40);
      }
    })();
    const started = Date.now();
    // Meanwhile a normal client gets its answer at once.
    const normal = await request(`${gw.url}/v1/proxy/flaky/ok`);
    expect(normal.status).toBe(200);
    const { byServer } = await conn.closed;
    const elapsed = Date.now() - started;
    await trickle;
    expect(byServer).toBe(true);
    expect(elapsed).toBeLessThan(3000); // headers timeout 600 ms (+ checking interval)
    expect(written).toBeLessThan(head.length + 200);
    expect(conn.text()).toMatch(/^(HTTP\/1\.1 408|$)/);
  });

  it('a body trickled byte by byte is cut by the request timeout', async () => {
    const conn = await openRaw(gw.port);
    await conn.write('POST /v1/proxy/flaky/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    const started = Date.now();
    const trickle = (async () => {
      for (let i = 0; i < 1000; i++) {
        try {
          await conn.write('a');
        } catch {
          return;
        }
        await sleep(20);
      }
    })();
    await conn.closed;
    await trickle;
    expect(Date.now() - started).toBeLessThan(4000); // request timeout 1.2 s (+ checking interval)
  });
});
