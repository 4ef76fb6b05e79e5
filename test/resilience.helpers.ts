// Small helpers shared by the resilience e2e specs (test/resilience-*.e2e-spec.ts).
import {
  type FlakyProc,
  type GatewayProc,
  type HttpResponse,
  metricsSummary,
  metricValue,
  request,
  scrape,
  sleep,
} from './helpers/index.js';

export const ADMIN_KEY = 'resilience-admin-key-0123456789';
const ADMIN = { 'x-api-key': ADMIN_KEY };

/** One entry of `GET /admin/breakers`. */
export interface Breaker {
  id: string;
  service: string;
  upstream: string;
  state: 'CLOSED' | 'HALF_OPEN' | 'OPEN';
  consecutiveFailures: number;
  nextTrialAt: string | null;
}

export async function breakers(gw: GatewayProc): Promise<Breaker[]> {
  const res = await request(`${gw.mgmtUrl}/admin/breakers`, { headers: ADMIN });
  if (res.status !== 200) throw new Error(`GET /admin/breakers → ${res.status}: ${res.text}`);
  return res.json<{ breakers: Breaker[] }>().breakers;
}

/** The breaker of `service` at `flaky` (or a `host:port`). */
export async function breaker(gw: GatewayProc, service: string, upstream: FlakyProc | string): Promise<Breaker> {
  const hostPort = typeof upstream === 'string' ? upstream : upstream.hostPort;
  const found = (await breakers(gw)).find((b) => b.service === service && b.upstream === hostPort);
  if (!found) throw new Error(`no breaker ${service}/${hostPort}`);
  return found;
}

export async function resetBreakers(gw: GatewayProc, service: string): Promise<HttpResponse> {
  return request(`${gw.mgmtUrl}/admin/breakers/${service}/reset`, { method: 'POST', headers: ADMIN });
}

/** Polls until `check` is true; throws with `what` after `timeoutMs`. Resolves the time it took (ms). */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 2000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function waitForState(
  gw: GatewayProc,
  service: string,
  upstream: FlakyProc | string,
  state: Breaker['state'],
  timeoutMs = 2000,
): Promise<number> {
  return waitUntil(
    `${service} breaker ${state}`,
    async () => (await breaker(gw, service, upstream)).state === state,
    timeoutMs,
  );
}

/** Sum of the Prometheus samples of `name` whose labels include `labels` (0 when none), from `GET /metrics`. */
export async function metric(gw: GatewayProc, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await scrape(gw), name, labels);
}

/** The JSON summary of `GET /metrics` (CONTRACT §3). */
export const summary = metricsSummary;

/** Requests the upstream served on `path` since its last count reset. */
export async function hits(flaky: FlakyProc, path?: string): Promise<number> {
  const state = await flaky.counts();
  return path === undefined ? state.total : (state.counts[path] ?? 0);
}

/** Asserts a gateway problem document with `code`. */
export function problemCode(res: HttpResponse): string | undefined {
  if (!String(res.headers['content-type']).startsWith('application/problem+json')) return undefined;
  return res.json<{ code: string }>().code;
}

/** The env every resilience test gateway runs with: no rate limit, admin on, quick shutdown. */
export const GATEWAY_ENV = {
  RATE_LIMIT_ENABLED: 'false',
  ADMIN_API_KEY: ADMIN_KEY,
  SHUTDOWN_DRAIN_MS: '200',
};
