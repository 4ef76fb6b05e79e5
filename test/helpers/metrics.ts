import { type GatewayProc } from './gateway.js';
import { type HttpResponse, request } from './http.js';
import { sleep } from './processes.js';

/** The sample lines of one metric in a Prometheus text exposition (`name{…} value` or `name value`). */
export function samples(exposition: string, name: string): string[] {
  return exposition.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/**
 * Sum of the samples of `name` whose labels include `labels` (any order; 0 when none).
 * @example metricValue(text, 'gateway_rate_limit_decisions_total', { service: 'flaky', decision: 'allowed' })
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of samples(exposition, name)) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      found[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** `GET {mgmtUrl}/metrics` as Prometheus text. @throws unless it answers 200 */
export async function scrape(gw: GatewayProc): Promise<string> {
  const res = await request(`${gw.mgmtUrl}/metrics`, { headers: { accept: 'text/plain' } });
  if (res.status !== 200) throw new Error(`GET /metrics → ${res.status}`);
  return res.text;
}

/** The JSON summary of `GET /metrics` (CONTRACT §3). */
export interface MetricsSummary {
  circuit_breakers: Record<string, string>;
  total_requests: number;
  total_retries: number;
  rate_limit_allowed: number;
  rate_limit_blocked: number;
  cache_hits: number;
}

/** `GET {mgmtUrl}/metrics` with `Accept: application/json`. @throws unless it answers 200 */
export async function metricsSummary(gw: GatewayProc): Promise<MetricsSummary> {
  const res = await request(`${gw.mgmtUrl}/metrics`, { headers: { accept: 'application/json' } });
  if (res.status !== 200) throw new Error(`GET /metrics (JSON) → ${res.status}`);
  return res.json<MetricsSummary>();
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
