import { register, type Registry } from 'prom-client';
import { DURATION_BUCKETS, M } from '../metrics/metrics.definitions.js';
import { histogramQuantile } from './histogram-quantile.js';

/** Cumulative counts of proxied traffic (the gateway's own endpoints left out), read from the registry. */
export interface TrafficTotals {
  /** When read (epoch ms). */
  readonly at: number;
  readonly requests: number;
  readonly errors: number;
  readonly retries: number;
  readonly allowed: number;
  readonly blocked: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly cacheStale: number;
  /** Cumulative duration-histogram counts, aligned with {@link BOUNDS}. */
  readonly buckets: readonly number[];
}

/** One point of the dashboard's charts: rates over the last tick. Null where nothing was measured. */
export interface TrafficSample {
  /** End of the interval (epoch ms). */
  readonly t: number;
  readonly rps: number | null;
  /** Share of 5xx answers, in percent (null: no requests). */
  readonly errorPct: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly retries: number | null;
  readonly allowed: number | null;
  readonly blocked: number | null;
  readonly cacheHits: number | null;
  readonly cacheMisses: number | null;
}

const BOUNDS: readonly number[] = [...DURATION_BUCKETS, Infinity];
const OWN = 'gateway';

type Values = { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];

async function valuesOf(registry: Registry, name: string): Promise<Values> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return [];
  return (await metric.get()).values as Values;
}

/** Reads the cumulative counters and the latency histogram (one pass, no per-viewer work). */
export async function readTotals(registry: Registry = register, now = Date.now()): Promise<TrafficTotals> {
  const [requests, retries, rateLimit, cache, duration] = await Promise.all([
    valuesOf(registry, M.requests),
    valuesOf(registry, M.retries),
    valuesOf(registry, M.rateLimit),
    valuesOf(registry, M.cache),
    valuesOf(registry, M.duration),
  ]);
  let req = 0;
  let errors = 0;
  for (const v of requests) {
    if (v.labels.service === OWN) continue;
    req += v.value;
    if (String(v.labels.status).startsWith('5')) errors += v.value;
  }
  let allowed = 0;
  let blocked = 0;
  for (const v of rateLimit) {
    if (v.labels.decision === 'allowed') allowed += v.value;
    else if (v.labels.decision === 'blocked') blocked += v.value;
  }
  let cacheHits = 0;
  let cacheMisses = 0;
  let cacheStale = 0;
  for (const v of cache) {
    if (v.labels.result === 'hit') cacheHits += v.value;
    else if (v.labels.result === 'miss') cacheMisses += v.value;
    else if (v.labels.result === 'stale') cacheStale += v.value;
  }
  const buckets = BOUNDS.map(() => 0);
  for (const v of duration) {
    if (v.labels.service === OWN || !v.metricName?.endsWith('_bucket')) continue;
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
    const i = BOUNDS.indexOf(le);
    if (i !== -1) buckets[i] += v.value;
  }
  return {
    at: now,
    requests: req,
    errors,
    retries: retries.reduce((sum, v) => sum + v.value, 0),
    allowed,
    blocked,
    cacheHits,
    cacheMisses,
    cacheStale,
    buckets,
  };
}

/** Rates between two readings. */
export function sampleBetween(prev: TrafficTotals, next: TrafficTotals): TrafficSample {
  const seconds = Math.max(0.001, (next.at - prev.at) / 1000);
  const rate = (a: number, b: number): number => round(Math.max(0, b - a) / seconds, 3);
  const requests = Math.max(0, next.requests - prev.requests);
  const delta = next.buckets.map((n, i) => Math.max(0, n - (prev.buckets[i] ?? 0)));
  const ms = (q: number): number | null => {
    const s = histogramQuantile(q, BOUNDS, delta);
    return s === null ? null : round(s * 1000, 2);
  };
  return {
    t: next.at,
    rps: rate(prev.requests, next.requests),
    errorPct: requests === 0 ? null : round((100 * Math.max(0, next.errors - prev.errors)) / requests, 2),
    p50Ms: ms(0.5),
    p99Ms: ms(0.99),
    retries: rate(prev.retries, next.retries),
    allowed: rate(prev.allowed, next.allowed),
    blocked: rate(prev.blocked, next.blocked),
    cacheHits: rate(prev.cacheHits + prev.cacheStale, next.cacheHits + next.cacheStale),
    cacheMisses: rate(prev.cacheMisses, next.cacheMisses),
  };
}

/** A break in the charts (nobody watched for a while). */
export function gapSample(t: number): TrafficSample {
  return {
    t,
    rps: null,
    errorPct: null,
    p50Ms: null,
    p99Ms: null,
    retries: null,
    allowed: null,
    blocked: null,
    cacheHits: null,
    cacheMisses: null,
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
