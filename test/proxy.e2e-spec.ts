// The proxy core (CONTRACT §3, issue 3 item 5) over real sockets, against real flaky-upstream processes.
// One gateway and two upstreams serve the whole file; each test reads the upstream's own view (echo,
// counts) rather than trusting the gateway's.
import { createServer, type Server } from 'node:net';
import {
  type FlakyProc,
  freePort,
  type GatewayProc,
  onCleanup,
  openRaw,
  request,
  sleep,
  startFlaky,
  startGateway,
} from './helpers/index.js';
import { rawHttp } from './helpers/raw-http.js';

interface Echo {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body: string;
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BODY_LIMIT = 64 * 1024;

let a: FlakyProc;
let b: FlakyProc;
let gw: GatewayProc;
let closedPort: number;
let resetPort: number;

/** Polls `fn` until it returns true (or fails after `timeoutMs`): for effects seen by another process. */
async function eventually(fn: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function expectProblem(res: { status: number; headers: Record<string, unknown>; text: string }, code: string): Problem {
  expect(res.headers['content-type']).toBe('application/problem+json');
  const body = JSON.parse(res.text) as Problem;
  expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'requestId', 'status', 'title', 'type']);
  expect(body.code).toBe(code);
  expect(body.status).toBe(res.status);
  expect(body.type).toMatch(/^https?:\/\/\S+$/);
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

beforeAll(async () => {
  const flakyEnv = { FLAKY_FAILURE_RATE: '0', FLAKY_DELAY_RATE: '0' };
  [a, b] = await Promise.all([
    startFlaky({ env: { ...flakyEnv, INSTANCE_ID: 'a' } }),
    startFlaky({ env: { ...flakyEnv, INSTANCE_ID: 'b' } }),
  ]);
  closedPort = await freePort();
  // An upstream that accepts and resets every connection before answering.
  const resetter: Server = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => resetter.listen(0, '127.0.0.1', resolve));
  resetPort = (resetter.address() as { port: number }).port;
  onCleanup(() => new Promise<void>((resolve) => resetter.close(() => resolve())));

  const noRetry = { maxRetries: 0 };
  const patientBreaker = { failureThreshold: 1000 };
  gw = await startGateway({
    routes: {
      services: {
        flaky: { instances: [a.url, b.url], retry: noRetry },
        one: { instances: [a.url], retry: noRetry },
        retrying: { instances: [a.url], retry: { maxRetries: 1, initialBackoffMs: 1, maxBackoffMs: 1 } },
        based: { instances: [`${a.url}/echo/base`], retry: noRetry },
        slow: { instances: [a.url], timeoutMs: 150, retry: noRetry, circuitBreaker: patientBreaker },
        dead: { instances: [`http://127.0.0.1:${closedPort}`], retry: noRetry, circuitBreaker: patientBreaker },
        reset: { instances: [`http://127.0.0.1:${resetPort}`], retry: noRetry, circuitBreaker: patientBreaker },
      },
      routes: [
        { path: '/api/v1/data', service: 'flaky', rewrite: '/flaky-data' },
        { path: '/mnt', service: 'one', rewrite: '/echo/m' },
        { path: '/echo', service: 'one' },
      ],
    },
    env: {
      RATE_LIMIT_ENABLED: 'false',
      UPSTREAM_URL: b.url,
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      SHUTDOWN_DRAIN_MS: '200',
      LOG_LEVEL: 'warn',
    },
  });
}, 20_000);

describe('forwarding', () => {
  it('forwards method, path, query, headers and body', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/echo/a/b?x=1&y=two%20words&x=2`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-custom': 'value', accept: 'application/json' },
      body: 'hello body',
    });
    expect(res.status).toBe(200);
    const echo = res.json<Echo>();
    expect(echo.method).toBe('POST');
    expect(echo.path).toBe('/echo/a/b');
    expect(echo.query).toEqual({ x: ['1', '2'], y: 'two words' });
    expect(echo.headers).toMatchObject({
      'content-type': 'text/plain',
      'x-custom': 'value',
      accept: 'application/json',
      'content-length': '10',
    });
    expect(echo.body).toBe('hello body');
  });

  it.each(['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const)('forwards %s', async (method) => {
    const body = method === 'GET' || method === 'OPTIONS' ? undefined : `a ${method} body`;
    const res = await request(`${gw.url}/v1/proxy/one/echo/m`, { method, body });
    expect(res.status).toBe(200);
    expect(res.json<Echo>()).toMatchObject({ method, path: '/echo/m', body: body ?? '' });
  });

  it('forwards HEAD: the upstream’s headers, no body', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/bytes?n=1234`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('1234');
    expect(res.text).toBe('');
  });

  it('sends the upstream’s Host and X-Forwarded-For/-Proto/-Host', async () => {
    const echo = (await request(`${gw.url}/v1/proxy/one/echo/h`)).json<Echo>();
    expect(echo.headers.host).toBe(a.hostPort);
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
  });

  it('appends the client to an X-Forwarded-For chain and replaces -Proto/-Host', async () => {
    const echo = (
      await request(`${gw.url}/v1/proxy/one/echo/h`, {
        headers: {
          'x-forwarded-for': '203.0.113.7, 198.51.100.2',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil',
        },
      })
    ).json<Echo>();
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.7, 198.51.100.2, 127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
  });

  it('never forwards a client-sent X-Consumer-Name (upstreams can trust it)', async () => {
    const echo = (
      await request(`${gw.url}/v1/proxy/one/echo/c`, { headers: { 'x-consumer-name': 'admin' } })
    ).json<Echo>();
    expect(echo.headers['x-consumer-name']).toBeUndefined();
  });

  it('strips hop-by-hop request headers, also those named in Connection', async () => {
    const res = await rawHttp(gw.port, 'GET', '/v1/proxy/one/echo/hop', {
      Connection: 'close, X-Secret, x-other',
      'X-Secret': 'hop',
      'X-Other': 'hop',
      'Keep-Alive': 'timeout=99',
      TE: 'trailers',
      Trailer: 'X-Checksum',
      'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
      'Proxy-Connection': 'keep-alive',
      'X-Kept': 'end-to-end',
    });
    expect(res.status).toBe(200);
    const headers = res.json<Echo>().headers;
    for (const name of [
      'x-secret',
      'x-other',
      'keep-alive',
      'te',
      'trailer',
      'proxy-authorization',
      'proxy-connection',
    ]) {
      expect(headers[name]).toBeUndefined();
    }
    expect(headers['x-kept']).toBe('end-to-end');
    // The gateway's own pool connection to the upstream, not the client's "close".
    expect(headers.connection).toBe('keep-alive');
  });

  it('strips the upstream’s hop-by-hop response headers (the gateway sends its own)', async () => {
    // flaky-upstream (Node) answers with Keep-Alive: timeout=65; the gateway's listener says timeout=5.
    const res = await rawHttp(gw.port, 'GET', '/v1/proxy/one/ok', { Connection: 'keep-alive' });
    expect(res.status).toBe(200);
    expect(res.headers['keep-alive']).toBe('timeout=5');
  });
});

describe('X-Request-Id', () => {
  it('keeps a sane one, upstream and back', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/echo/id`, { headers: { 'x-request-id': 'abc-123.XYZ_9' } });
    expect(res.headers['x-request-id']).toBe('abc-123.XYZ_9');
    expect(res.json<Echo>().headers['x-request-id']).toBe('abc-123.XYZ_9');
  });

  it.each([
    ['missing', undefined],
    ['with spaces', 'has spaces in it'],
    ['too long', 'x'.repeat(200)],
    ['with control-like characters', 'a<script>'],
  ])('generates one when %s, the same upstream and back', async (_why, sent) => {
    const res = await request(`${gw.url}/v1/proxy/one/echo/id`, {
      headers: sent === undefined ? {} : { 'x-request-id': sent },
    });
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect(res.json<Echo>().headers['x-request-id']).toBe(id);
  });

  it('each request gets its own', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(async () => (await request(`${gw.url}/v1/proxy/one/ok`)).headers['x-request-id']),
    );
    expect(new Set(ids).size).toBe(3);
  });
});

describe('the upstream’s answer goes back as it came', () => {
  it('a 418 with its headers and body', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/fail?status=418`);
    expect(res.status).toBe(418);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-instance-id']).toBe('a');
    expect(res.json()).toEqual({ status: 418, instance: 'a' });
  });

  it('the upstream’s own 404 (not the gateway’s problem document)', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/no-such-path`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({ error: 'not found', instance: 'a' });
  });

  it('an upstream 503 unchanged (no retry configured)', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/retry-after?s=7`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toMatchObject({ error: 'retry later', retryAfter: 7 });
  });

  it('repeated and caching headers, and a 204 without a body', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/cache?maxAge=30&setCookie=1&vary=Accept`);
    expect(res.headers['cache-control']).toBe('max-age=30');
    expect(res.headers['set-cookie']).toMatch(/^session=s\d+; Path=\/; HttpOnly$/);
    expect(res.headers.vary).toBe('Accept');
    const empty = await request(`${gw.url}/v1/proxy/one/fail?status=204`);
    expect(empty.status).toBe(204);
    expect(empty.text).toBe('');
  });

  it('a chunked body stays whole', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/stream?n=100000&chunk=777`);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.text).toHaveLength(100000);
    expect(res.text.slice(0, 30)).toBe('abcdefghijklmnopqrstuvwxyzabcd');
  });
});

describe('routing', () => {
  it('goes round robin over two instances', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push((await request(`${gw.url}/v1/proxy/flaky/ok`)).headers['x-instance-id'] as string);
    expect(new Set(ids)).toEqual(new Set(['a', 'b']));
    for (let i = 2; i < ids.length; i++) expect(ids[i]).toBe(ids[i - 2]);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('a route mount with rewrite', async () => {
    const data = await request(`${gw.url}/api/v1/data`);
    expect(data.status).toBe(200);
    expect(data.json()).toMatchObject({ data: 'ok' });
    const echo = (await request(`${gw.url}/mnt/x/y?q=1`)).json<Echo>();
    expect(echo.path).toBe('/echo/m/x/y');
    expect(echo.query).toEqual({ q: '1' });
  });

  it('a route mount without rewrite keeps its path', async () => {
    expect((await request(`${gw.url}/echo/kept`)).json<Echo>().path).toBe('/echo/kept');
  });

  it('an instance’s base path is prefixed', async () => {
    expect((await request(`${gw.url}/v1/proxy/based/x?k=v`)).json<Echo>()).toMatchObject({
      path: '/echo/base/x',
      query: { k: 'v' },
    });
  });

  it('/proxy/* goes to UPSTREAM_URL', async () => {
    const res = await request(`${gw.url}/proxy/echo/p?z=1`);
    expect(res.headers['x-instance-id']).toBe('b');
    expect(res.json<Echo>()).toMatchObject({ path: '/echo/p', query: { z: '1' } });
  });

  it('unknown service: 404 UNKNOWN_SERVICE as problem+json', async () => {
    const res = await request(`${gw.url}/v1/proxy/ghost/users`);
    expect(res.status).toBe(404);
    expectProblem(res, 'UNKNOWN_SERVICE');
  });

  it.each(['GET', 'POST', 'DELETE'] as const)('unknown route (%s): 404 NOT_FOUND as problem+json', async (method) => {
    const res = await request(`${gw.url}/nowhere/at/all`, { method, headers: { 'x-request-id': 'trace-me' } });
    expect(res.status).toBe(404);
    expect(expectProblem(res, 'NOT_FOUND').requestId).toBe('trace-me');
  });
});

describe('paths', () => {
  const TRAVERSALS = [
    '/v1/proxy/one/..',
    '/v1/proxy/one/../flaky/ok',
    '/v1/proxy/one/echo/../../x',
    '/v1/proxy/one/%2e%2e/x',
    '/v1/proxy/one/%2E%2e/x',
    '/v1/proxy/one/.%2e/x',
    '/v1/proxy/one/..%2f',
    '/v1/proxy/one/..%2Fx',
    '/v1/proxy/one/%2f..',
    '/v1/proxy/one/..%5c',
    '/v1/proxy/one/..%5Cx',
    '/v1/proxy/one/..\\x',
    '/v1/proxy/one/a\\..\\..\\x',
    '/v1/proxy/one/..;/x',
    '/v1/proxy/one/%00',
    '/v1/proxy/one/echo%zz',
    '/mnt/../..',
    '/mnt/%2e%2e%2f%2e%2e',
    '/proxy/..%2f..',
  ];

  it.each(TRAVERSALS)('%s → 400 BAD_REQUEST', async (target) => {
    const res = await rawHttp(gw.port, 'GET', target);
    expect(res.status).toBe(400);
    expectProblem({ status: res.status, headers: res.headers, text: res.body }, 'BAD_REQUEST');
  });

  it('nothing of them reaches an upstream', async () => {
    await Promise.all([a.resetCounts(), b.resetCounts()]);
    for (const target of TRAVERSALS) expect((await rawHttp(gw.port, 'GET', target)).status).toBe(400);
    expect((await a.counts()).total).toBe(0);
    expect((await b.counts()).total).toBe(0);
  });

  it('an encoded slash inside is forwarded still encoded', async () => {
    const res = await rawHttp(gw.port, 'GET', '/v1/proxy/one/echo/projects/group%2Fproject/issues?x=a%2Fb');
    expect(res.status).toBe(200);
    expect(res.json<Echo>()).toMatchObject({ path: '/echo/projects/group%2Fproject/issues', query: { x: 'a/b' } });
  });

  it('dot segments inside are resolved', async () => {
    expect((await rawHttp(gw.port, 'GET', '/v1/proxy/one/echo/a/../b/./c')).json<Echo>().path).toBe('/echo/b/c');
    expect((await rawHttp(gw.port, 'GET', '/v1/proxy/one/echo/a/%2e%2e/d')).json<Echo>().path).toBe('/echo/d');
  });
});

describe('refusals', () => {
  it('Upgrade → 501 UPGRADE_NOT_SUPPORTED, nothing reaches the upstream', async () => {
    await a.resetCounts();
    const ws = await rawHttp(gw.port, 'GET', '/v1/proxy/one/echo/ws', {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version': '13',
    });
    expect(ws.status).toBe(501);
    expectProblem({ status: ws.status, headers: ws.headers, text: ws.body }, 'UPGRADE_NOT_SUPPORTED');
    const h2c = await rawHttp(gw.port, 'GET', '/v1/proxy/one/echo/h2c', { Upgrade: 'h2c' });
    expect(h2c.status).toBe(501);
    expect((await a.counts()).total).toBe(0);
  });

  it('a body over BODY_LIMIT_BYTES with Content-Length → 413 before anything is forwarded', async () => {
    await a.resetCounts();
    const res = await request(`${gw.url}/v1/proxy/one/upload`, {
      method: 'POST',
      body: Buffer.alloc(BODY_LIMIT + 1, 'x'),
    });
    expect(res.status).toBe(413);
    expectProblem(res, 'PAYLOAD_TOO_LARGE');
    expect((await a.counts()).total).toBe(0);
  });

  it('a body at the limit passes', async () => {
    const res = await request(`${gw.url}/v1/proxy/one/upload`, { method: 'POST', body: Buffer.alloc(BODY_LIMIT, 'x') });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ bytes: BODY_LIMIT });
  });

  async function* chunks(total: number, size = 8192): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < total; sent += size) yield Buffer.alloc(Math.min(size, total - sent), 'y');
  }

  it.each([
    ['streamed (POST, never retried)', 'POST', 'one'],
    ['buffered for replay (PUT with retries)', 'PUT', 'retrying'],
  ] as const)('a chunked body over the limit → 413, %s', async (_how, method, service) => {
    await a.resetCounts();
    const res = await request(`${gw.url}/v1/proxy/${service}/upload`, { method, body: chunks(BODY_LIMIT + 20000) });
    expect(res.status).toBe(413);
    expectProblem(res, 'PAYLOAD_TOO_LARGE');
    // The upstream may have seen the start of it, but never a whole request.
    await eventually(async () => {
      const state = await a.counts();
      return (state.counts['/upload'] ?? 0) === state.aborted;
    });
  });

  it('a chunked body within the limit passes whole', async () => {
    for (const [method, service] of [
      ['POST', 'one'],
      ['PUT', 'retrying'],
    ] as const) {
      const res = await request(`${gw.url}/v1/proxy/${service}/upload`, { method, body: chunks(BODY_LIMIT - 1) });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ bytes: BODY_LIMIT - 1 });
    }
  });
});

describe('upstream failures', () => {
  it('per-try timeout → 504 UPSTREAM_TIMEOUT (an upstream that never answers)', async () => {
    const start = performance.now();
    const res = await request(`${gw.url}/v1/proxy/slow/hang`);
    const ms = performance.now() - start;
    expect(res.status).toBe(504);
    expectProblem(res, 'UPSTREAM_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(140);
    expect(ms).toBeLessThan(3000); // well under the 5 s default: the service's 150 ms applies
  });

  it('per-try timeout → 504 (an upstream slower than timeoutMs); a faster one passes', async () => {
    expect((await request(`${gw.url}/v1/proxy/slow/slow?ms=600`)).status).toBe(504);
    expect((await request(`${gw.url}/v1/proxy/slow/slow?ms=5`)).status).toBe(200);
  });

  it('a client that uploads slowly is not an upstream timeout: the per-try clock starts once the body is sent', async () => {
    async function* trickle(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 8; i++) {
        yield Buffer.alloc(1000, 'z');
        await sleep(60); // 480 ms in all, over the service's 150 ms per-try timeout
      }
    }
    const res = await request(`${gw.url}/v1/proxy/slow/upload`, { method: 'POST', body: trickle() });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ bytes: 8000 });
  });

  it('after a slow upload, the per-try timeout still runs: an upstream that then never answers → 504', async () => {
    async function* trickle(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 4; i++) {
        yield Buffer.alloc(1000, 'z');
        await sleep(60);
      }
    }
    const start = performance.now();
    const res = await request(`${gw.url}/v1/proxy/slow/hang`, { method: 'GET', body: trickle() });
    const ms = performance.now() - start;
    expect(res.status).toBe(504);
    expectProblem(res, 'UPSTREAM_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(240 + 140);
    expect(ms).toBeLessThan(3000);
  });

  it('connection refused → 502 UPSTREAM_UNAVAILABLE', async () => {
    const res = await request(`${gw.url}/v1/proxy/dead/ok`);
    expect(res.status).toBe(502);
    expectProblem(res, 'UPSTREAM_UNAVAILABLE');
  });

  it('connection reset before an answer → 502 UPSTREAM_UNAVAILABLE', async () => {
    const res = await request(`${gw.url}/v1/proxy/reset/ok`);
    expect(res.status).toBe(502);
    expectProblem(res, 'UPSTREAM_UNAVAILABLE');
  });

  it('an upstream that dies mid-body: the client sees a broken response, never a complete one', async () => {
    await expect(request(`${gw.url}/v1/proxy/one/bytes?n=1000000&abortAfter=100000`)).rejects.toThrow();
  });
});

describe('client disconnects', () => {
  it('a client that hangs up mid-download aborts the upstream request', async () => {
    await a.resetCounts();
    const conn = await openRaw(gw.port);
    await conn.write(`GET /v1/proxy/one/endless?intervalMs=2 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await conn.waitFor(/\r\n\r\n[\s\S]{5000}/); // headers and some body: the download is under way
    const streaming = await a.counts();
    expect(streaming.counts['/endless']).toBe(1);
    expect(streaming.aborted).toBe(0); // still streaming: nothing closed yet
    conn.destroy();
    await eventually(async () => (await a.counts()).aborted === 1);
  });

  it('a client that hangs up while waiting for headers aborts the upstream request', async () => {
    await a.resetCounts();
    const conn = await openRaw(gw.port);
    await conn.write(`GET /v1/proxy/one/hang HTTP/1.1\r\nHost: x\r\n\r\n`);
    await eventually(async () => (await a.counts()).counts['/hang'] === 1);
    expect((await a.counts()).aborted).toBe(0);
    conn.destroy();
    await eventually(async () => (await a.counts()).aborted === 1);
  });
});

describe('behind a trusted proxy (TRUST_PROXY)', () => {
  let trusting: GatewayProc;
  beforeAll(async () => {
    trusting = await startGateway({
      routes: { services: { one: { instances: [a.url], retry: { maxRetries: 0 } } } },
      env: { RATE_LIMIT_ENABLED: 'false', TRUST_PROXY: 'loopback', LOG_LEVEL: 'warn', SHUTDOWN_DRAIN_MS: '200' },
    });
  }, 20_000);

  it('X-Forwarded-For gets the address of the peer appended, not the client address it computed', async () => {
    // The load balancer at 127.0.0.1 (trusted) says the client is 203.0.113.7.
    const echo = (
      await request(`${trusting.url}/v1/proxy/one/echo/xff`, { headers: { 'x-forwarded-for': '203.0.113.7' } })
    ).json<Echo>();
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
  });

  it("X-Forwarded-Proto and X-Forwarded-Host keep what the trusted proxy said (the client's scheme and host)", async () => {
    const echo = (
      await request(`${trusting.url}/v1/proxy/one/echo/xfp`, {
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' },
      })
    ).json<Echo>();
    expect(echo.headers['x-forwarded-proto']).toBe('https');
    expect(echo.headers['x-forwarded-host']).toBe('api.example.com');
  });
});
