// flaky-upstream as a real process over real sockets (CONTRACT §6 and the additions in flaky-server.ts).
import { createHash } from 'node:crypto';
import { request as undiciRequest } from 'undici';
import { decideOutcome, DEFAULT_CHAOS } from '../apps/flaky-upstream/src/chaos.js';
import { mulberry32 } from '../apps/flaky-upstream/src/prng.js';
import {
  baseEnv,
  builtFile,
  type FlakyProc,
  ManagedProcess,
  openRaw,
  rawRequest,
  request,
  startFlaky,
  testAgent,
} from './helpers/index.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
const patternOf = (n: number, from = 0): string =>
  Array.from({ length: n }, (_, i) => ALPHABET[(from + i) % 26]).join('');

describe('flaky-upstream endpoints', () => {
  let flaky: FlakyProc;
  const get = (path: string, options?: Parameters<typeof request>[1]) => request(`${flaky.url}${path}`, options);

  beforeAll(async () => {
    flaky = await startFlaky({ env: { INSTANCE_ID: 'test-a', FLAKY_SEED: '1', FLAKY_DELAY_MS: '30' } });
  });

  afterEach(async () => {
    await flaky.chaos({ ...DEFAULT_CHAOS, delayMs: 30 });
  });

  it.each(['/health', '/ok', '/users', '/products'])('GET %s → 200 JSON with the instance', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-instance-id']).toBe('test-a');
    expect(res.json()).toMatchObject({ instance: 'test-a' });
  });

  it('serves demo data on /users and /products', async () => {
    expect((await get('/users')).json().users).toHaveLength(3);
    expect((await get('/products')).json().products[0]).toHaveProperty('price');
  });

  it('keeps connections alive for 65 s', async () => {
    expect((await get('/ok')).headers['keep-alive']).toBe('timeout=65');
  });

  it('GET /flaky-data with failure and delay rates 0 → 200 with a sequence number', async () => {
    await flaky.chaos({ failureRate: 0, delayRate: 0 });
    const a = (await get('/flaky-data')).json();
    const b = (await get('/flaky-data')).json();
    expect(a).toMatchObject({ data: 'ok', instance: 'test-a' });
    expect(b.seq).toBe(a.seq + 1);
  });

  it('GET /flaky-data with failureRate 1 → always 503', async () => {
    await flaky.chaos({ failureRate: 1, delayRate: 0 });
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get('/flaky-data').then((r) => r.status)));
    expect(statuses).toEqual(Array(20).fill(503));
  });

  it('GET /flaky-data with delayRate 1 → 200 after delayMs', async () => {
    await flaky.chaos({ failureRate: 0, delayRate: 1, delayMs: 120 });
    const started = performance.now();
    const res = await get('/flaky-data');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ delayed: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });

  it('GET /slow?ms=N answers after N ms; a bad N → 400', async () => {
    const started = performance.now();
    const res = await get('/slow?ms=80');
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    for (const bad of ['abc', '-1', '1.5', '120001']) expect((await get(`/slow?ms=${bad}`)).status).toBe(400);
  });

  it('GET /fail?status=N answers N; outside 100..599 → 400', async () => {
    for (const status of [200, 418, 500, 502, 503, 504]) {
      const res = await get(`/fail?status=${status}`);
      expect(res.status).toBe(status);
      expect(res.headers['x-instance-id']).toBe('test-a');
      expect(res.json()).toEqual({ status, instance: 'test-a' });
    }
    const noContent = await get('/fail?status=204');
    expect([noContent.status, noContent.text]).toEqual([204, '']);
    for (const bad of ['99', '600', 'x', '']) expect((await get(`/fail?status=${bad}`)).status).toBe(400);
    expect((await get('/fail')).status).toBe(400);
  });

  it('ANY /echo/* returns method, raw path, query, headers and body', async () => {
    const res = await get('/echo/a%2Fb/c?x=1&x=2&y=%20z', {
      method: 'PATCH',
      headers: { 'x-test': 'yes', 'content-type': 'text/plain' },
      body: 'héllo',
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      method: 'PATCH',
      path: '/echo/a%2Fb/c',
      query: { x: ['1', '2'], y: ' z' },
      headers: expect.objectContaining({ 'x-test': 'yes', 'content-length': '6' }),
      body: 'héllo',
    });
    expect((await get('/echo', { method: 'DELETE' })).json()).toMatchObject({
      method: 'DELETE',
      path: '/echo',
      body: '',
    });
  });

  it('echoes the path exactly as received, dot segments included', async () => {
    const raw = await rawRequest(
      flaky.port,
      'GET /echo/a/../%2e%2e/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).path).toBe('/echo/a/../%2e%2e/b');
  });

  it('GET /bytes?n=N streams N bytes of the alphabet pattern with Content-Length', async () => {
    const n = 1_000_003;
    const res = await get(`/bytes?n=${n}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(n));
    expect(res.text.length).toBe(n);
    expect(res.text.slice(0, 30)).toBe(patternOf(30));
    expect(res.text.slice(65_510, 65_540)).toBe(patternOf(30, 65_510));
    expect(res.text.slice(-5)).toBe(patternOf(5, n - 5));
    expect((await get('/bytes?n=0')).text).toBe('');
    expect((await get('/bytes')).status).toBe(400);
  });

  it('GET /bytes?abortAfter=K cuts the body short: the client sees an error, not a complete body', async () => {
    await expect(get('/bytes?n=100000&abortAfter=1000')).rejects.toThrow();
  });

  it('GET /stream?n=N sends N bytes chunked, without Content-Length', async () => {
    const res = await get('/stream?n=1000&chunk=7&intervalMs=1');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.text).toBe(patternOf(1000));
    expect((await get('/stream?n=10&chunk=0')).status).toBe(400);
  });

  it('POST|PUT /upload hashes a streamed body', async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const chunks = 80; // 5 MiB
    async function* body() {
      for (let i = 0; i < chunks; i++) yield chunk;
    }
    const hash = createHash('sha256');
    for (let i = 0; i < chunks; i++) hash.update(chunk);
    const res = await get('/upload', { method: 'POST', body: body() });
    expect(res.json()).toEqual({ bytes: chunk.length * chunks, sha256: hash.digest('hex') });
    const put = await get('/upload', { method: 'PUT', body: 'abc' });
    expect(put.json()).toEqual({ bytes: 3, sha256: createHash('sha256').update('abc').digest('hex') });
    expect((await get('/upload')).status).toBe(405);
  });

  it('HEAD on the streaming endpoints sends headers only, at once', async () => {
    const bytes = await get('/bytes?n=68719476736', { method: 'HEAD', timeoutMs: 1000 });
    expect([bytes.status, bytes.headers['content-length'], bytes.text]).toEqual([200, '68719476736', '']);
    const endless = await get('/endless', { method: 'HEAD', timeoutMs: 1000 });
    expect([endless.status, endless.text]).toEqual([200, '']);
  });

  it('survives clients that hang up mid-body on /upload and /echo', async () => {
    for (const path of ['/upload', '/echo/x']) {
      const conn = await openRaw(flaky.port);
      await conn.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial`);
      conn.destroy();
    }
    expect((await get('/health')).status).toBe(200);
  });

  it('refuses echo bodies over 10 MiB with 413', async () => {
    const res = await get('/echo/big', { method: 'POST', body: Buffer.alloc(10 * 1024 * 1024 + 1) });
    expect(res.status).toBe(413);
  });

  it('GET /headers?n=K&size=S sends K headers of S bytes', async () => {
    const res = await get('/headers?n=3&size=10');
    expect(res.status).toBe(200);
    for (let i = 0; i < 3; i++) expect(res.headers[`x-filler-${i}`]).toBe('h'.repeat(10));
    expect(res.headers['x-filler-3']).toBeUndefined();
    expect((await get('/headers?n=1000&size=10000')).status).toBe(400);
  });

  it('GET /hang accepts and never answers', async () => {
    await expect(get('/hang', { timeoutMs: 150 })).rejects.toThrow(/timeout/i);
  });

  it('GET /endless streams without end', async () => {
    const res = await undiciRequest(`${flaky.url}/endless?intervalMs=1`, { dispatcher: testAgent() });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-instance-id']).toBe('test-a');
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      if (received >= 8 * 1024) break; // leaving the loop destroys the body
    }
    expect(received).toBeGreaterThanOrEqual(8 * 1024);
  });

  it('GET /cache counts calls and sends the caching headers asked for', async () => {
    const first = await get('/cache?maxAge=5&sMaxage=7&private=1&noStore=1&noCache=1&setCookie=1&vary=Accept,X-Tenant');
    expect(first.headers['cache-control']).toBe('max-age=5, s-maxage=7, private, no-store, no-cache');
    expect(first.headers['set-cookie']).toMatch(/^session=/);
    expect(first.headers.vary).toBe('Accept,X-Tenant');
    const plain = await get('/cache');
    expect(plain.headers['cache-control']).toBeUndefined();
    expect(plain.headers['set-cookie']).toBeUndefined();
    expect(plain.json().counter).toBe(first.json().counter + 1);
    expect((await get('/cache?vary=bad%20header')).status).toBe(400);
    expect((await get('/cache?maxAge=-1')).status).toBe(400);
  });

  it('GET /retry-after?s=N → 503 with Retry-After', async () => {
    const res = await get('/retry-after?s=7');
    expect([res.status, res.headers['retry-after']]).toEqual([503, '7']);
  });

  it('unknown path → 404 JSON; wrong method → 405 with Allow', async () => {
    const missing = await get('/nope');
    expect([missing.status, missing.headers['x-instance-id']]).toEqual([404, 'test-a']);
    expect(missing.json()).toMatchObject({ error: 'not found' });
    const wrong = await get('/users', { method: 'POST', body: '{}' });
    expect([wrong.status, wrong.headers.allow]).toEqual([405, 'GET, HEAD']);
  });

  it('answers a malformed request with 400 and X-Instance-Id', async () => {
    const raw = await rawRequest(flaky.port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/X-Instance-Id: test-a/i);
  });

  describe('/__chaos', () => {
    it('GET shows the settings', async () => {
      const state = await flaky.counts();
      expect(state.settings).toEqual({ ...DEFAULT_CHAOS, delayMs: 30 });
      expect(state.instance).toBe('test-a');
    });

    it.each([
      ['invalid JSON', '{"failureRate":'],
      ['unknown key', '{"failureRat":1}'],
      ['out of range', '{"failureRate":1.5}'],
      ['wrong type', '{"down":"yes"}'],
      ['rates over 1', '{"failureRate":0.6,"delayRate":0.6}'],
      ['not an object', '[]'],
      ['negative delay', '{"delayMs":-5}'],
    ])('PUT with %s → 400 JSON, nothing changed', async (_what, body) => {
      const res = await get('/__chaos', { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.json()).toHaveProperty('error');
      expect((await flaky.counts()).settings).toEqual({ ...DEFAULT_CHAOS, delayMs: 30 });
    });

    it('down: true → 503 everywhere but /__chaos; down: false restores', async () => {
      await flaky.chaos({ down: true });
      for (const path of ['/health', '/ok', '/users', '/flaky-data', '/echo/x', '/slow?ms=1', '/nope']) {
        const res = await get(path);
        expect([path, res.status, res.headers['x-instance-id']]).toEqual([path, 503, 'test-a']);
      }
      expect((await get('/upload', { method: 'POST', body: 'x' })).status).toBe(503);
      expect((await get('/__chaos')).status).toBe(200);
      await flaky.chaos({ down: false });
      expect((await get('/health')).status).toBe(200);
    });

    it('counts requests per path without query, 503s of down included; reset zeroes them', async () => {
      await flaky.resetCounts();
      await get('/ok');
      await get('/ok?x=1');
      await get('/echo/a?b=c', { method: 'POST', body: 'x' });
      await get('/nope');
      await flaky.chaos({ down: true });
      await get('/users');
      await flaky.chaos({ down: false });
      const state = await flaky.counts();
      expect(state.counts).toEqual({ '/ok': 2, '/echo/a': 1, '/nope': 1, '/users': 1 });
      expect(state.total).toBe(5);
      await flaky.resetCounts();
      expect(await flaky.counts()).toMatchObject({ counts: {}, total: 0 });
    });

    it('refuses other methods on /__chaos and /__chaos/reset', async () => {
      expect((await get('/__chaos', { method: 'POST', body: '{}' })).status).toBe(405);
      expect((await get('/__chaos/reset')).status).toBe(405);
    });
  });
});

describe('flaky-upstream with FLAKY_SEED', () => {
  const statusesOf = async (flaky: FlakyProc, n: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await request(`${flaky.url}/flaky-data`)).status);
    return statuses;
  };

  it('gives the same /flaky-data statuses on every run, as the seeded PRNG predicts', async () => {
    const env = { FLAKY_SEED: '20240601', FLAKY_DELAY_MS: '1' };
    const first = await startFlaky({ env });
    const runA = await statusesOf(first, 40);
    await first.restart();
    const runB = await statusesOf(first, 40);
    const other = await startFlaky({ env });
    const runC = await statusesOf(other, 40);

    const next = mulberry32(20240601);
    const predicted = Array.from({ length: 40 }, () =>
      decideOutcome(next(), { ...DEFAULT_CHAOS, delayMs: 1 }) === 'fail' ? 503 : 200,
    );
    expect(runA).toEqual(predicted);
    expect(runB).toEqual(predicted);
    expect(runC).toEqual(predicted);
    // The sequence holds both outcomes, so equality above says something.
    expect(new Set(predicted)).toEqual(new Set([200, 503]));
  });
});

describe('flaky-upstream process', () => {
  it('uses flaky-<port> as the default instance id', async () => {
    const flaky = await startFlaky();
    expect((await request(`${flaky.url}/ok`)).headers['x-instance-id']).toBe(`flaky-${flaky.port}`);
    expect((await request(`${flaky.url}/nope`)).headers['x-instance-id']).toBe(`flaky-${flaky.port}`);
  });

  it('on SIGTERM stops accepting, finishes the in-flight /slow and exits 0', async () => {
    const flaky = await startFlaky();
    // A keep-alive connection exists before the slow request: the shutdown must close it too.
    await request(`${flaky.url}/ok`);
    const slow = request(`${flaky.url}/slow?ms=300`);
    while ((await flaky.counts()).counts['/slow'] !== 1) await new Promise((r) => setTimeout(r, 5));

    flaky.process.signal('SIGTERM');
    await flaky.process.waitForLine(/SIGTERM/);
    await expect(request(`${flaky.url}/ok`, { dispatcher: undefined, timeoutMs: 1000 })).rejects.toThrow();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    const started = performance.now();
    expect(await flaky.process.exited).toBe(0);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('on a second signal exits at once, in-flight requests or not', async () => {
    const flaky = await startFlaky();
    const slow = request(`${flaky.url}/slow?ms=5000`).catch((err: Error) => err);
    while ((await flaky.counts()).counts['/slow'] !== 1) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    flaky.process.signal('SIGTERM');
    await flaky.process.waitForLine(/SIGTERM/);
    flaky.process.signal('SIGINT');
    expect(await flaky.process.exited).toBe(1);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await slow).toBeInstanceOf(Error);
  });

  it.each([
    ['FLAKY_FAILURE_RATE', 'abc'],
    ['FLAKY_DELAY_RATE', '1.5'],
    ['FLAKY_DELAY_MS', '-3'],
    ['FLAKY_SEED', 'seed'],
    ['PORT', '70000'],
    ['INSTANCE_ID', 'a\u0001b'],
  ])('exits 1 with one line naming %s when it is invalid', async (name, value) => {
    const p = new ManagedProcess(process.execPath, [builtFile('dist/apps/flaky-upstream/main.js')], {
      env: baseEnv({ PORT: '0', HOST: '127.0.0.1', [name]: value }),
    });
    expect(await p.exited).toBe(1);
    expect(p.lines('stderr')).toEqual([expect.stringContaining(`${name}=`)]);
  });

  it('refuses rates that add up to more than 1', async () => {
    const p = new ManagedProcess(process.execPath, [builtFile('dist/apps/flaky-upstream/main.js')], {
      env: baseEnv({ PORT: '0', FLAKY_FAILURE_RATE: '0.7', FLAKY_DELAY_RATE: '0.5' }),
    });
    expect(await p.exited).toBe(1);
    expect(p.lines('stderr')).toEqual([
      expect.stringMatching(/^flaky-upstream: FLAKY_FAILURE_RATE \+ FLAKY_DELAY_RATE/),
    ]);
  });
});
