import { type Redis } from 'ioredis';
import { freePort } from '../../../test/helpers/ports.js';
import { startRedis } from '../../../test/helpers/redis.js';
import { type RedisOptions } from './redis-options.interface.js';
import { RedisService } from './redis.service.js';

/* RedisService against a real redis-server: killed, restarted, paused, password-protected. */

const services: RedisService[] = [];
// Close clients before the harness stops the servers (the file-level afterAll runs after this block's).
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.onApplicationShutdown()));
});

function service(url: string | null, extra: Partial<RedisOptions> = {}): { redis: RedisService; states: boolean[] } {
  const redis = new RedisService({ url, cluster: false, keyPrefix: 'bw:', commandTimeoutMs: 200, ...extra });
  const states: boolean[] = [];
  redis.onStateChange((up) => states.push(up));
  services.push(redis);
  redis.onModuleInit();
  return { redis, states };
}

/** Resolves when `redis.up` equals `want`; rejects after `timeoutMs`. */
async function until(redis: RedisService, want: boolean, timeoutMs = 5000): Promise<number> {
  const start = Date.now();
  while (redis.up !== want) {
    if (Date.now() - start > timeoutMs) throw new Error(`redis.up never became ${want} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

describe('RedisService', () => {
  it('is disabled without a URL: no client, never up, ping rejects', async () => {
    const { redis, states } = service(null);
    expect(redis.enabled).toBe(false);
    expect(redis.client).toBeNull();
    expect(redis.up).toBe(false);
    await expect(redis.ping()).rejects.toThrow(/not configured/);
    expect(() => redis.createSubscriber()).toThrow(/not configured/);
    expect(states).toEqual([]);
  });

  it('builds keys as prefix + parts joined by ":" (hash tags are the caller\'s)', () => {
    const { redis } = service(null, { keyPrefix: 'acme:' });
    expect(redis.key('{rl:flaky:ip:10.0.0.1}')).toBe('acme:{rl:flaky:ip:10.0.0.1}');
    expect(redis.key('breaker', '{flaky}', 'state')).toBe('acme:breaker:{flaky}:state');
  });

  it('connects in the background and answers ping with a round-trip time', async () => {
    const server = await startRedis();
    const { redis, states } = service(server.url);
    expect(redis.up).toBe(false); // onModuleInit did not wait
    await until(redis, true);
    expect(states).toEqual([true]);
    const ms = await redis.ping();
    expect(typeof ms).toBe('number');
    expect(ms).toBeGreaterThan(0);
  });

  it('starts degraded when Redis is down (one "down"), then comes up by itself when it appears', async () => {
    const port = await freePort();
    const { redis, states } = service(`redis://127.0.0.1:${port}`);
    while (states.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 300)); // several reconnect attempts
    expect(states).toEqual([false]);
    await startRedis({ port });
    await until(redis, true);
    expect(states).toEqual([false, true]);
  });

  it('goes down once when Redis is killed, fails commands at once meanwhile, and recovers on restart', async () => {
    const server = await startRedis();
    const { redis, states } = service(server.url, { commandTimeoutMs: 2000 });
    await until(redis, true);
    await server.kill();
    await until(redis, false, 2000);
    const start = performance.now();
    await expect((redis.client as Redis).get('bw:x')).rejects.toThrow();
    expect(performance.now() - start).toBeLessThan(1000); // no offline queue: no waiting for the 2 s timeout
    await new Promise((r) => setTimeout(r, 300)); // reconnect attempts must not repeat "down"
    expect(states).toEqual([true, false]);
    await server.restart();
    await until(redis, true);
    expect(states).toEqual([true, false, true]);
    expect(await (redis.client as Redis).set('bw:x', '1')).toBe('OK');
  });

  it('notices a Redis that holds the socket but does not answer (paused), and its return', async () => {
    const server = await startRedis();
    const { redis, states } = service(server.url, { commandTimeoutMs: 100, heartbeatMs: 100 });
    await until(redis, true);
    server.pause();
    try {
      await until(redis, false, 2000);
      await expect(redis.ping()).rejects.toThrow(/timed out/i);
    } finally {
      server.resume();
    }
    await until(redis, true, 2000);
    expect(states).toEqual([true, false, true]);
  });

  it('gives subscribers their own connection', async () => {
    const server = await startRedis();
    const { redis } = service(server.url);
    const sub = redis.createSubscriber() as Redis;
    const got = new Promise<string>((resolve) =>
      sub.on('message', (_channel: string, message: string) => resolve(message)),
    );
    await sub.subscribe(redis.key('events'));
    await until(redis, true);
    await (redis.client as Redis).publish(redis.key('events'), 'hello');
    expect(await got).toBe('hello');
  });

  it('never exposes the password of the URL in its error', async () => {
    const server = await startRedis({ args: ['--requirepass', 'right-password'] });
    const secret = 'hunter2-not-the-password';
    const { redis } = service(`redis://:${secret}@127.0.0.1:${server.port}`);
    const start = Date.now();
    while (redis.lastError === null && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(redis.lastError).toMatch(/WRONGPASS|invalid/i);
    expect(redis.lastError).not.toContain(secret);
    expect(redis.up).toBe(false);
  });
});
