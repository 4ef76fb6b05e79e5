// The gateway's listeners (issue 3 item 5): MANAGEMENT_PORT splits own endpoints from proxied traffic, and
// proxied requests reuse a keep-alive connection pool to the upstream.
import { readFileSync } from 'node:fs';
import { type FlakyProc, type GatewayProc, request, startFlaky, startGateway } from './helpers/index.js';

let flaky: FlakyProc;
let split: GatewayProc;
let shared: GatewayProc;

beforeAll(async () => {
  flaky = await startFlaky({ env: { INSTANCE_ID: 'up' } });
  const routes = { services: { svc: { instances: [flaky.url], retry: { maxRetries: 0 } } } };
  const env = { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warn', SHUTDOWN_DRAIN_MS: '200' };
  [split, shared] = await Promise.all([
    startGateway({ routes, env, managementPort: true }),
    startGateway({ routes, env }),
  ]);
}, 30_000);

describe('MANAGEMENT_PORT set', () => {
  it('serves the gateway’s own endpoints on the management port', async () => {
    const metrics = await request(`${split.mgmtUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('# TYPE gateway_http_requests_total counter');
    expect((await request(`${split.mgmtUrl}/health/live`)).status).toBe(200);
    expect((await request(`${split.mgmtUrl}/METRICS`)).status).toBe(200);
  });

  it.each([
    '/metrics',
    '/health',
    '/health/live',
    '/health/ready',
    '/dashboard',
    '/admin/breakers',
    // Express matches routes without case: these would reach the same controllers.
    '/METRICS',
    '/Metrics/',
    '/HEALTH/live',
    '/Health',
    '/Dashboard',
    '/ADMIN/breakers',
  ])('answers %s on PORT with 404 NOT_FOUND', async (path) => {
    const res = await request(`${split.url}${path}`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND', requestId: res.headers['x-request-id'] });
  });

  it('serves proxied paths only on PORT', async () => {
    const proxied = await request(`${split.url}/v1/proxy/svc/ok`);
    expect(proxied.status).toBe(200);
    expect(proxied.headers['x-instance-id']).toBe('up');
    await flaky.resetCounts();
    for (const path of ['/v1/proxy/svc/ok', '/v1/proxy/ghost/x', '/anything']) {
      const res = await request(`${split.mgmtUrl}${path}`);
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect((await flaky.counts()).total).toBe(0);
  });
});

describe('MANAGEMENT_PORT unset', () => {
  it('serves own endpoints and proxied paths on one port', async () => {
    expect(shared.mgmtUrl).toBe(shared.url);
    expect((await request(`${shared.url}/metrics`)).status).toBe(200);
    expect((await request(`${shared.url}/health/live`)).status).toBe(200);
    expect((await request(`${shared.url}/v1/proxy/svc/ok`)).status).toBe(200);
  });
});

/** TCP connections (any state but LISTEN) with `port` at either end, from the kernel's tables. */
function connectionsOn(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] === '0A') continue; // 0A = LISTEN
      if (f[1]!.endsWith(`:${hex}`) || f[2]!.endsWith(`:${hex}`)) n++;
    }
  }
  return n;
}

describe('connection pool', () => {
  it('sequential requests reuse one keep-alive connection to the upstream', async () => {
    const own = await startFlaky({ env: { INSTANCE_ID: 'pooled' } });
    const gw = await startGateway({
      routes: { services: { p: { instances: [own.url], retry: { maxRetries: 0 } } } },
      env: { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warn', SHUTDOWN_DRAIN_MS: '200' },
    });
    expect(connectionsOn(own.port)).toBe(0);
    for (let i = 0; i < 30; i++) expect((await request(`${gw.url}/v1/proxy/p/ok`)).status).toBe(200);
    // One connection, seen from both ends. Without a pool there would be 30, lingering in TIME_WAIT.
    expect(connectionsOn(own.port)).toBeLessThanOrEqual(4);
  }, 30_000);
});
