// Retries end to end (CONTRACT §3 "the last try decides", §4 retry, backoff, deadline, budget, Retry-After):
// real gateway, real flaky-upstream processes; upstream hits are the upstreams' own counts.
import { type FlakyProc, freePort, type GatewayProc, request, startFlaky, startGateway } from './helpers/index.js';
import { GATEWAY_ENV, hits, metric, problemCode } from './resilience.helpers.js';

/** Breakers that never open in these tests: only retries are under test here. */
const NEVER_OPEN = { failureThreshold: 1000 };
const QUICK = { initialBackoffMs: 10, multiplier: 2, maxBackoffMs: 50 };

let f1: FlakyProc;
let f2: FlakyProc;
let f3: FlakyProc;
let dead: string;
let gw: GatewayProc;

beforeAll(async () => {
  [f1, f2, f3] = await Promise.all([startFlaky(), startFlaky(), startFlaky()]);
  dead = `http://127.0.0.1:${await freePort()}`; // nothing listens: connection refused
  const svc = (instances: string[], extra: Record<string, unknown> = {}) => ({
    instances,
    timeoutMs: 200,
    totalTimeoutMs: 3000,
    circuitBreaker: NEVER_OPEN,
    ...extra,
    retry: { maxRetries: 2, ...QUICK, ...(extra.retry as object) },
  });
  gw = await startGateway({
    routes: {
      services: {
        pair: svc([f1.url, f2.url]),
        trio: svc([f1.url, f2.url, f3.url]),
        // Fresh round-robin cursors start at the first instance: the order of tries is known.
        lastdead: svc([f1.url, dead], { retry: { maxRetries: 1 } }),
        lastflaky: svc([dead, f1.url], { retry: { maxRetries: 1 } }),
        alldead: svc([dead]),
        deadline: svc([f1.url], {
          timeoutMs: 200,
          totalTimeoutMs: 300,
          retry: { maxRetries: 5, initialBackoffMs: 150, multiplier: 2, maxBackoffMs: 1000 },
        }),
        budget: svc([f1.url], {
          retry: { maxRetries: 2, initialBackoffMs: 0, budget: { ratio: 0.2, minPerSecond: 1 } },
        }),
        quiet: svc([f1.url], {
          retry: { maxRetries: 2, initialBackoffMs: 0, budget: { ratio: 0.2, minPerSecond: 1 } },
        }),
        ra: svc([f1.url], { retry: { maxRetries: 1, initialBackoffMs: 1, maxBackoffMs: 1000 } }),
        racap: svc([f1.url], { retry: { maxRetries: 1, initialBackoffMs: 1, maxBackoffMs: 200 } }),
      },
    },
    env: GATEWAY_ENV,
  });
});

beforeEach(async () => {
  await Promise.all([f1, f2, f3].map((f) => f.chaos({ down: false })));
  await Promise.all([f1, f2, f3].map((f) => f.resetCounts()));
});

const url = (service: string, path: string) => `${gw.url}/v1/proxy/${service}${path}`;
const retries = (service: string, reason?: string) =>
  metric(gw, 'gateway_retries_total', reason ? { service, reason } : { service });

describe('which requests are retried, and where', () => {
  it('never retries a POST: one upstream hit, its answer passed through', async () => {
    await Promise.all([f1.chaos({ down: true }), f2.chaos({ down: true })]);
    const before = await retries('pair');
    const res = await request(url('pair', '/echo/post'), { method: 'POST', body: { n: 1 } });
    expect(res.status).toBe(503);
    expect((await hits(f1)) + (await hits(f2))).toBe(1);
    expect(await retries('pair')).toBe(before);
  });

  it('retries a GET (and PUT, DELETE) up to maxRetries on failing upstreams', async () => {
    await Promise.all([f1.chaos({ down: true }), f2.chaos({ down: true })]);
    const before = await retries('pair', 'http_503');
    expect((await request(url('pair', '/echo/get'))).status).toBe(503);
    expect((await hits(f1)) + (await hits(f2))).toBe(3);
    expect(await retries('pair', 'http_503')).toBe(before + 2);
    await Promise.all([f1.resetCounts(), f2.resetCounts()]);
    expect((await request(url('pair', '/echo/put'), { method: 'PUT', body: 'x' })).status).toBe(503);
    expect((await request(url('pair', '/echo/del'), { method: 'DELETE' })).status).toBe(503);
    expect((await hits(f1)) + (await hits(f2))).toBe(6);
  });

  it('a GET that fails on one instance is retried on the other; the client gets only the good answer', async () => {
    await f1.chaos({ down: true });
    const before = await retries('pair', 'http_503');
    for (let i = 0; i < 4; i++) {
      const res = await request(url('pair', `/echo/r${i}?q=${i}`), { headers: { 'x-test': 'retry' } });
      expect(res.status).toBe(200);
      expect(res.headers['x-instance-id']).toBe(`flaky-${f2.port}`);
      // Exactly the healthy instance's body: nothing of the discarded 503 leaks into it.
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
      expect(res.text).not.toContain('instance is down');
      expect(res.json()).toMatchObject({ method: 'GET', path: `/echo/r${i}`, query: { q: String(i) } });
    }
    const failed = await hits(f1);
    expect(failed).toBeGreaterThanOrEqual(1); // some requests did go to the failing instance first…
    expect(failed).toBeLessThanOrEqual(4); // …and were never retried on it
    expect(await hits(f2)).toBe(4);
    expect(await retries('pair', 'http_503')).toBe(before + failed);
  });

  it('each retry goes to an instance not tried yet, also under concurrency', async () => {
    await Promise.all([f1.chaos({ down: true }), f2.chaos({ down: true })]);
    // Concurrent requests move the round-robin cursor between one request's tries: only the
    // "not tried yet" rule keeps a retry off the instance that just failed it.
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => request(url('trio', `/echo/c${i}`))));
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((r) => r.headers['x-instance-id']))).toEqual(new Set([`flaky-${f3.port}`]));
    expect(await hits(f3)).toBe(24);
    expect(await hits(f1)).toBeLessThanOrEqual(24);
    expect(await hits(f2)).toBeLessThanOrEqual(24);
  });

  it('replays a small request body on the retry', async () => {
    await f1.chaos({ down: true });
    for (let i = 0; i < 2; i++) {
      const res = await request(url('pair', '/echo/body'), { method: 'PUT', body: `payload-${i}` });
      expect(res.status).toBe(200);
      expect(res.json().body).toBe(`payload-${i}`);
    }
    expect(await hits(f1)).toBeGreaterThanOrEqual(1);
  });
});

describe('the last try decides (CONTRACT §3)', () => {
  it('an upstream 503 is passed through unchanged, body and headers', async () => {
    await Promise.all([f1.chaos({ down: true }), f2.chaos({ down: true })]);
    const res = await request(url('pair', '/users'));
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-instance-id']).toMatch(/^flaky-\d+$/);
    expect(res.json()).toEqual({ error: 'instance is down (chaos)', instance: res.headers['x-instance-id'] });
  });

  it('connect failure on the last try: 502 UPSTREAM_UNAVAILABLE, even after an upstream 503', async () => {
    await f1.chaos({ down: true });
    const res = await request(url('lastdead', '/ok'));
    expect(res.status).toBe(502);
    expect(problemCode(res)).toBe('UPSTREAM_UNAVAILABLE');
    expect(await hits(f1)).toBe(1); // f1 answered 503 first, then the retry could not connect
    expect(await retries('lastdead', 'http_503')).toBe(1);
  });

  it('an upstream 503 on the last try wins over an earlier connect failure', async () => {
    await f1.chaos({ down: true });
    const res = await request(url('lastflaky', '/ok'));
    expect(res.status).toBe(503);
    expect(problemCode(res)).toBeUndefined();
    expect(res.text).toContain('instance is down');
    expect(await retries('lastflaky', 'connect_failure')).toBe(1);
  });

  it('only connect failures: 502 after every retry', async () => {
    const start = Date.now();
    const res = await request(url('alldead', '/ok'));
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 502 });
    expect(await retries('alldead', 'connect_failure')).toBe(2);
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it('timeout on the last try: 504 UPSTREAM_TIMEOUT', async () => {
    const res = await request(url('lastflaky', '/slow?ms=1000'));
    expect(res.status).toBe(504);
    expect(problemCode(res)).toBe('UPSTREAM_TIMEOUT');
    const viaDead = await request(url('lastdead', '/slow?ms=1000'));
    expect(viaDead.status).toBe(502); // f1 timed out first, the retry could not connect
    expect(await retries('lastdead', 'timeout')).toBe(1);
  });

  it('a successful answer is never retried', async () => {
    const before = await retries('pair');
    for (let i = 0; i < 4; i++) expect((await request(url('pair', '/fail?status=404'))).status).toBe(404);
    expect((await hits(f1)) + (await hits(f2))).toBe(4);
    expect(await retries('pair')).toBe(before);
  });
});

describe('backoff and the total deadline', () => {
  it('stops retrying before the deadline and answers the last outcome', async () => {
    await f1.chaos({ down: true });
    const start = Date.now();
    const res = await request(url('deadline', '/ok'));
    const elapsed = Date.now() - start;
    expect(res.status).toBe(503); // the last try's own answer
    expect(elapsed).toBeLessThanOrEqual(300 + 250); // the deadline plus room for a busy machine
    const tries = await hits(f1);
    expect(tries).toBeGreaterThanOrEqual(1);
    expect(tries).toBeLessThanOrEqual(6);
  });

  it('504 when the deadline runs out during a try', async () => {
    const start = Date.now();
    const res = await request(url('deadline', '/slow?ms=1000'));
    const elapsed = Date.now() - start;
    expect(res.status).toBe(504);
    expect(problemCode(res)).toBe('UPSTREAM_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThanOrEqual(300 + 250); // the deadline plus room for a busy machine
  });
});

describe('retry budget', () => {
  it('with every request failing, retries ≤ ratio × requests + minPerSecond × 10', async () => {
    await f1.chaos({ down: true });
    const requests = 50;
    for (let i = 0; i < requests; i++) expect((await request(url('budget', '/ok'))).status).toBe(503);
    const cap = 0.2 * requests + 1 * 10; // 20, far below the 100 that maxRetries would send
    const retried = await retries('budget');
    expect(retried).toBe(cap);
    expect(await hits(f1)).toBe(requests + cap);
    expect(await metric(gw, 'gateway_retry_budget_exhausted_total', { service: 'budget' })).toBeGreaterThan(0);
  });

  it('a quiet service gets every retry', async () => {
    await f1.chaos({ down: true });
    for (let i = 0; i < 4; i++) expect((await request(url('quiet', '/ok'))).status).toBe(503);
    expect(await retries('quiet', 'http_503')).toBe(8); // 2 per request, though 0.2 × 4 < 1
    expect(await hits(f1)).toBe(12);
    expect(await metric(gw, 'gateway_retry_budget_exhausted_total', { service: 'quiet' })).toBe(0);
  });
});

describe('Retry-After', () => {
  it('waits what the upstream asks before retrying', async () => {
    const start = Date.now();
    const res = await request(url('ra', '/retry-after?s=1'));
    const elapsed = Date.now() - start;
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(await hits(f1)).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(1500);
  });

  it('is capped at maxBackoffMs', async () => {
    const start = Date.now();
    const res = await request(url('racap', '/retry-after?s=30'));
    const elapsed = Date.now() - start;
    expect(res.status).toBe(503);
    expect(await hits(f1)).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(700);
  });
});
