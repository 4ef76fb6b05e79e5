// The bench's Breakwater set-up: its routes file (part of the result) and readers of /metrics.

/** The key the bench client sends (`API_KEYS=bench:<key>`). */
export const BENCH_KEY = 'bench-key-0123456789abcdef';
export const API_KEYS = `bench:${BENCH_KEY}`;
export const AUTH_HEADERS = { 'X-API-Key': BENCH_KEY };

/** The rate limiter's memory store cap (MEMORY_STORE_MAX_BUCKETS in apps/gateway/src/rate-limit/token-bucket.memory-store.ts). */
export const MEMORY_STORE_MAX_BUCKETS = 100_000;

/** The resilience services' circuit threshold (see the comment written into the routes file). */
export const RESILIENCE_FAILURE_THRESHOLD = 15;
const FAILURE_RATE = 0.2;

/** Expected tries between runs of `k` consecutive failures when each try fails with probability `p`. */
export function triesBetweenFailureRuns(p, k) {
  return (1 - p ** k) / ((1 - p) * p ** k);
}

function fmtCount(n) {
  return n >= 1e6 ? n.toExponential(1) : Math.round(n).toLocaleString('en-US');
}

/**
 * The routes file. `upstream`: the flaky-upstream origin; `soakUpstream`: the soak's own
 * flaky-upstream; `deadPorts`: two loopback ports nothing listens on (the circuit-open row).
 */
export function routesFile({ upstream, soakUpstream = upstream, deadPorts }) {
  const k = RESILIENCE_FAILURE_THRESHOLD;
  const every5 = fmtCount(triesBetweenFailureRuns(FAILURE_RATE, 5));
  const everyK = fmtCount(triesBetweenFailureRuns(FAILURE_RATE, k));
  const rateLimit = '{ capacity: 1000000000, refillPerSecond: 1000000 }';
  const resilient = (ratio) => `    instances: [${upstream}]
    timeoutMs: 1000                   # per try: well above the 200 ms chaos delay
    totalTimeoutMs: 5000
    retry: { maxRetries: 3, initialBackoffMs: 25, multiplier: 2, maxBackoffMs: 200,
             retryOn: [connect-failure, timeout, 502, 503, 504],
             budget: { ratio: ${ratio}, minPerSecond: 10 } }
    circuitBreaker: { failureThreshold: ${k}, resetTimeoutMs: 10000, halfOpenMaxRequests: 1, successThreshold: 1 }
    rateLimit: ${rateLimit}
    auth: required`;
  return `# Breakwater bench routes file, written by bench/run.mjs and printed with its results.
# Gateway env: API_KEYS=bench:<key> (the client sends X-API-Key), LOG_LEVEL=info with stdout
# written to a file, RATE_LIMIT_ENABLED=true; REDIS_URL only for the Redis row. Cache: off.
#
# Rate limit: on for every service, but a bucket of 1e9 tokens refilled at 1e6/s per client:
# the bench client is never blocked (a 429 is not a fast answer; throughput rows show 0 errors).
services:
  bench:                              # throughput rows: GET /v1/proxy/bench/ok
    instances: [${upstream}]
    timeoutMs: 5000
    totalTimeoutMs: 15000
    retry: { maxRetries: 2, initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 2000,
             budget: { ratio: 0.2, minPerSecond: 10 } }
    circuitBreaker: { failureThreshold: 5, resetTimeoutMs: 10000 }
    rateLimit: ${rateLimit}
    auth: required
  dead:                               # circuit-open row: nothing listens on these ports; one failure
    instances: [http://127.0.0.1:${deadPorts[0]}, http://127.0.0.1:${deadPorts[1]}]
    retry: { maxRetries: 0 }          # opens a circuit, which stays open for an hour: every request
    circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 3600000 }   # is the 503 fast-fail path
    rateLimit: ${rateLimit}
    auth: required
  # Resilience rows: the upstream fails 20 % of tries (503) and delays 20 % by 200 ms. Up to 3
  # retries; the breaker must not trip on random failures: ${k} consecutive failures at p = 0.2
  # come once every ${everyK} tries on average ((1 - p^k) / ((1 - p) p^k)), i.e. never
  # during a bench, where the default 5 would trip every ${every5} tries (about every second
  # at full load) and turn the row into a circuit-open measurement.
  resilient:                          # the default retry budget (ratio 0.2)
${resilient(0.2)}
  resilient-budget30:                 # budget.ratio 0.3: above the 0.25 retries/request needed
${resilient(0.3)}
  # Soak row: its own flaky-upstream failing 20 % of tries (503), no delays. Up to 2 retries with a
  # small backoff and the default retry budget (ratio 0.2 + 10/s, from the environment); the same
  # failureThreshold ${k} as above, so random failures never open the circuit. No API key (auth:
  # none): the rate limiter then keys its buckets by client IP, and the soak gateway runs with
  # TRUST_PROXY=true, so each X-Forwarded-For address the client sends is one more client, one
  # more bucket in the memory store (an LRU capped at 100,000 buckets). Per-try timeout 5 s: the
  # upstream never delays, so only a stall would reach it.
  soak:
    instances: [${soakUpstream}]
    timeoutMs: 5000
    totalTimeoutMs: 15000
    retry: { maxRetries: 2, initialBackoffMs: 10, multiplier: 2, maxBackoffMs: 100,
             retryOn: [connect-failure, timeout, 502, 503, 504] }
    circuitBreaker: { failureThreshold: ${k}, resetTimeoutMs: 10000, halfOpenMaxRequests: 1, successThreshold: 1 }
    rateLimit: ${rateLimit}
    auth: none
`;
}

/** The JSON summary of `/metrics` (null when the gateway does not answer it). */
export async function metricsSummary(base) {
  try {
    const res = await fetch(`${base}/metrics`, {
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return null;
    return await res.json();
  } catch {
    return null;
  }
}

/** The Prometheus text of `/metrics` ('' when unavailable). */
export async function metricsText(base) {
  try {
    const res = await fetch(`${base}/metrics`, {
      headers: { Accept: 'text/plain' },
      signal: AbortSignal.timeout(3000),
    });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

/**
 * Sums of the samples of `name` whose labels include every pair in `labels`, grouped by the
 * value of label `by` (e.g. `status`): `{ '200': 12, '503': 3 }`.
 */
export function sampleGroups(text, name, labels, by) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = {};
    for (const pair of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[pair[1]] = pair[2];
    if (have[by] === undefined || !Object.entries(labels).every(([k, v]) => have[k] === v)) continue;
    out[have[by]] = (out[have[by]] ?? 0) + Number(m[3]);
  }
  return out;
}

/** Sum of the samples of `name` whose labels include every pair in `labels` (null: none found). */
export function sampleSum(text, name, labels = {}) {
  let sum = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = {};
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[pair[1]] = pair[2];
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[4]);
  }
  return sum;
}
