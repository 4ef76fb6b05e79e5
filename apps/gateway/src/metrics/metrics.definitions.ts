import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

/* The metrics of CONTRACT §5: names and labels are normative. */

export const M = {
  requests: 'gateway_http_requests_total',
  duration: 'gateway_http_request_duration_seconds',
  upstream: 'gateway_upstream_requests_total',
  circuitState: 'gateway_circuit_state',
  transitions: 'gateway_circuit_transitions_total',
  retries: 'gateway_retries_total',
  budgetExhausted: 'gateway_retry_budget_exhausted_total',
  rateLimit: 'gateway_rate_limit_decisions_total',
  redisFallback: 'gateway_redis_fallback_active',
  cache: 'gateway_cache_lookups_total',
  reloads: 'gateway_config_reloads_total',
} as const;

/** From 1 ms to 30 s: a gateway's answers span fast-fail to the longest upstream deadline. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const METRIC_PROVIDERS = [
  makeCounterProvider({
    name: M.requests,
    help: 'Requests answered by the gateway, by service, method and status.',
    labelNames: ['service', 'method', 'status'],
  }),
  makeHistogramProvider({
    name: M.duration,
    help: 'Time from request arrival to the end of the response, in seconds.',
    labelNames: ['service', 'method'],
    buckets: DURATION_BUCKETS,
  }),
  makeCounterProvider({
    name: M.upstream,
    help: 'Tries sent to upstream instances, by outcome.',
    labelNames: ['service', 'upstream', 'outcome'],
  }),
  makeGaugeProvider({
    name: M.circuitState,
    help: 'Circuit breaker state per upstream instance: 0 closed, 1 half-open, 2 open.',
    labelNames: ['service', 'upstream'],
  }),
  makeCounterProvider({
    name: M.transitions,
    help: 'Circuit breaker state transitions.',
    labelNames: ['service', 'upstream', 'from', 'to'],
  }),
  makeCounterProvider({
    name: M.retries,
    help: 'Retries sent, by the outcome that caused them.',
    labelNames: ['service', 'reason'],
  }),
  makeCounterProvider({
    name: M.budgetExhausted,
    help: 'Retries refused because the retry budget was spent.',
    labelNames: ['service'],
  }),
  makeCounterProvider({
    name: M.rateLimit,
    help: 'Rate-limit decisions.',
    labelNames: ['service', 'decision'],
  }),
  makeGaugeProvider({
    name: M.redisFallback,
    help: '1 while Redis is unreachable and per-replica local state serves.',
  }),
  makeCounterProvider({
    name: M.cache,
    help: 'Response cache lookups, by result.',
    labelNames: ['service', 'result'],
  }),
  makeCounterProvider({
    name: M.reloads,
    help: 'Routes-file reloads, by result.',
    labelNames: ['result'],
  }),
];
