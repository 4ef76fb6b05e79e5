import { connect } from 'node:net';
import { request as undiciRequest } from 'undici';
import {
  type FlakyProc,
  type GatewayProc,
  metricsSummary,
  request,
  sleep,
  startFlaky,
  startGateway,
  startRedis,
} from './helpers/index.js';

/*
 * Faults (issue 11), each over real sockets and processes: upstreams that die mid-response,
 * hang, never end or send giant headers; SIGTERM under load; Redis killed, restarted and made
 * slow while traffic flows.
 */

describe('misbehaving upstreams', () => {
  let flaky: FlakyProc;
  let gw: GatewayProc;

  beforeAll(async () => {
    flaky = await startFlaky({ env: { FLAKY_FAILURE_RATE: '0', FLAKY_DELAY_RATE: '0' } });
    gw = await startGateway({
      routes: {
        services: {
          flaky: {
            instances: [flaky.url],
            timeoutMs: 300,
            totalTimeoutMs: 800,
            retry: { maxRetries: 0 },
            circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 60_000 },
            rateLimit: false,
          },
        },
      },
      env: { SHUTDOWN_DRAIN_MS: '200' },
    });
  });

  it('an upstream dying mid-response: the client sees an aborted response, never a complete-looking one; the breaker counts it', async () => {
    // 1 MB announced, connection closed after 100 kB.
    await expect(request(`${gw.url}/v1/proxy/flaky/bytes?n=1000000&abortAfter=100000`)).rejects.toThrow();
    expect((await metricsSummary(gw)).circuit_breakers[`flaky/${flaky.hostPort}`]).toBe('CLOSED');
    await expect(request(`${gw.url}/v1/proxy/flaky/bytes?n=1000000&abortAfter=100000`)).rejects.toThrow();
    // Two consecutive failures (threshold 2): the circuit is open, the next request fails fast.
    expect((await metricsSummary(gw)).circuit_breakers[`flaky/${flaky.hostPort}`]).toBe('OPEN');
    const fast = await request(`${gw.url}/v1/proxy/flaky/ok`);
    expect(fast.status).toBe(503);
    expect(fast.json()).toMatchObject({ code: 'CIRCUIT_OPEN' });
  });
});

describe('retried failures', () => {
  it('each failed try counts once against the circuit (a discarded answer is not a second, late failure)', async () => {
    const flaky = await startFlaky();
    const gw = await startGateway({
      routes: {
        services: {
          flaky: {
            instances: [flaky.url],
            retry: { maxRetries: 2, initialBackoffMs: 1, maxBackoffMs: 2, budget: { minPerSecond: 1000 } },
            circuitBreaker: { failureThreshold: 15, resetTimeoutMs: 60_000 },
            rateLimit: false,
          },
        },
      },
      env: { SHUTDOWN_DRAIN_MS: '200' },
    });
    // 4 requests × 3 tries = 12 consecutive failures: still closed.
    for (let i = 0; i < 4; i++) expect((await request(`${gw.url}/v1/proxy/flaky/fail?status=503`)).status).toBe(503);
    expect((await flaky.counts()).counts['/fail']).toBe(12);
    expect((await metricsSummary(gw)).circuit_breakers[`flaky/${flaky.hostPort}`]).toBe('CLOSED');
    // The 15th failure opens it.
    await request(`${gw.url}/v1/proxy/flaky/fail?status=503`);
    expect((await metricsSummary(gw)).circuit_breakers[`flaky/${flaky.hostPort}`]).toBe('OPEN');
  });
});

describe('upstreams that hang, never end, or send giant headers', () => {
  let flaky: FlakyProc;
  let gw: GatewayProc;
  beforeAll(async () => {
    flaky = await startFlaky({ env: { FLAKY_FAILURE_RATE: '0', FLAKY_DELAY_RATE: '0' } });
    gw = await startGateway({
      routes: {
        services: {
          flaky: {
            instances: [flaky.url],
            timeoutMs: 300,
            totalTimeoutMs: 800,
            retry: { maxRetries: 0 },
            circuitBreaker: { failureThreshold: 100 },
            rateLimit: false,
          },
        },
      },
      env: { SHUTDOWN_DRAIN_MS: '200' },
    });
  });

  it('accepts and never answers → 504 after the per-try timeout', async () => {
    const started = Date.now();
    const res = await request(`${gw.url}/v1/proxy/flaky/hang`);
    expect(res.status).toBe(504);
    expect(res.json()).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('a never-ending body is cut at the total deadline: the client sees an aborted response', async () => {
    const started = Date.now();
    await expect(request(`${gw.url}/v1/proxy/flaky/endless`, { timeoutMs: 5000 })).rejects.toThrow();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(3000);
  });

  it('giant response headers → 502, bounded by the header limit', async () => {
    const res = await request(`${gw.url}/v1/proxy/flaky/headers?n=100&size=1000`);
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('a killed upstream mid-stream aborts the client response', async () => {
    const victim = await startFlaky();
    const gw2 = await startGateway({
      routes: { services: { v: { instances: [victim.url], retry: { maxRetries: 0 }, rateLimit: false } } },
      env: { SHUTDOWN_DRAIN_MS: '200' },
    });
    const res = await undiciRequest(`${gw2.url}/v1/proxy/v/endless?intervalMs=5`);
    expect(res.statusCode).toBe(200); // committed: status and headers are on their way
    await victim.kill();
    await expect(res.body.text()).rejects.toThrow();
  });
});

describe('SIGTERM under load', () => {
  it('readiness 503 at once, in-flight requests complete, new connections are refused, exit 0 within the drain', async () => {
    const flaky = await startFlaky();
    const gw = await startGateway({
      routes: { services: { flaky: { instances: [flaky.url], retry: { maxRetries: 0 }, rateLimit: false } } },
      managementPort: true,
      env: { SHUTDOWN_DRAIN_MS: '6000' },
    });
    const inFlight = Array.from({ length: 20 }, () =>
      request(`${gw.url}/v1/proxy/flaky/slow?ms=600`, { timeoutMs: 5000 }),
    );
    await sleep(150);
    const sent = Date.now();
    gw.signal('SIGTERM');
    await sleep(50);
    expect((await request(`${gw.mgmtUrl}/health/ready`)).status).toBe(503);
    // The proxy listener no longer accepts.
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ port: gw.port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await gw.exited).toBe(0);
    // Well within the drain time: it exits as soon as the last in-flight request is done.
    expect(Date.now() - sent).toBeLessThan(6000);
  });

  it('a second SIGTERM exits at once', async () => {
    const flaky = await startFlaky();
    const gw = await startGateway({
      routes: { services: { flaky: { instances: [flaky.url], retry: { maxRetries: 0 }, rateLimit: false } } },
      env: { SHUTDOWN_DRAIN_MS: '20000' },
    });
    const pending = request(`${gw.url}/v1/proxy/flaky/slow?ms=10000`, { timeoutMs: 15000 }).catch(() => null);
    await sleep(150);
    gw.signal('SIGTERM');
    await sleep(100);
    const sent = Date.now();
    gw.signal('SIGTERM');
    const code = await gw.exited;
    expect(Date.now() - sent).toBeLessThan(1000);
    expect(code).not.toBe(0);
    await pending;
  });
});

describe('Redis killed, restarted and made slow under load', () => {
  it('no request fails because of Redis; added latency stays bounded; shared state returns by itself', async () => {
    const redis = await startRedis();
    const flaky = await startFlaky({ env: { FLAKY_FAILURE_RATE: '0', FLAKY_DELAY_RATE: '0' } });
    const gw = await startGateway({
      routes: {
        services: {
          flaky: {
            instances: [flaky.url],
            retry: { maxRetries: 0 },
            rateLimit: { capacity: 1_000_000, refillPerSecond: 100_000 },
          },
        },
      },
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '100', SHUTDOWN_DRAIN_MS: '200' },
      waitReady: true,
    });
    const statuses: number[] = [];
    const latencies: number[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const started = Date.now();
        const res = await request(`${gw.url}/v1/proxy/flaky/ok`);
        latencies.push(Date.now() - started);
        statuses.push(res.status);
      }
    })();
    const phase = async (ms: number) => {
      await sleep(ms);
      return statuses.length;
    };
    await phase(300);
    await redis.kill();
    await phase(500);
    await redis.restart();
    await phase(500);
    await redis.pause(); // a hung Redis: the socket stays open, nothing answers
    const pausedFrom = latencies.length;
    await phase(600);
    const pausedLatencies = latencies.slice(pausedFrom);
    await redis.resume();
    await phase(800);
    running = false;
    await load;

    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // While Redis hangs, a request waits at most about one command timeout (100 ms) before local state answers.
    expect(Math.max(...pausedLatencies)).toBeLessThan(600);
    // Back on Redis by itself: the fallback gauge returns to 0 and the rate-limit keys live in Redis again.
    let fallback = '';
    for (let i = 0; i < 40; i++) {
      fallback =
        (await request(`${gw.mgmtUrl}/metrics`)).text
          .split('\n')
          .find((l) => l.startsWith('gateway_redis_fallback_active ')) ?? '';
      if (fallback.endsWith(' 0')) break;
      await sleep(50);
    }
    expect(fallback).toBe('gateway_redis_fallback_active 0');
    await request(`${gw.url}/v1/proxy/flaky/ok`);
    const keys = await redis.cli('--scan', '--pattern', 'bw:*rl*');
    expect(keys.trim()).not.toBe('');
  });
});
