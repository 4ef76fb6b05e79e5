import { type GatewayProc, type HttpResponse, request, sleep } from './helpers/index.js';

/**
 * The value of one series in a Prometheus text exposition, matched by name and labels (in any
 * order); 0 when the series is absent.
 * @example metricValue(text, 'gateway_rate_limit_decisions_total', { service: 'flaky', decision: 'allowed' })
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return 0;
}

/**
 * Resolves once the gateway reports Redis up in `/health/ready` (it starts without waiting for
 * Redis and serves from local buckets until then); fails after `timeoutMs`.
 */
export async function waitForRedisUp(gw: GatewayProc, timeoutMs = 5000): Promise<void> {
  await waitForRedisStatus(gw, 'up', timeoutMs);
}

/** Resolves once `/health/ready` shows Redis with `status` ('up' | 'degraded'); fails after `timeoutMs`. */
export async function waitForRedisStatus(gw: GatewayProc, status: string, timeoutMs = 5000): Promise<HttpResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(`${gw.mgmtUrl}/health/ready`);
    if (res.json<{ details?: { redis?: { status?: string } } }>().details?.redis?.status === status) return res;
    if (Date.now() > deadline) throw new Error(`Redis not ${status} on ${gw.url} within ${timeoutMs} ms: ${res.text}`);
    await sleep(20);
  }
}
