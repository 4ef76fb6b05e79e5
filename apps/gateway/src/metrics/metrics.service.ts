import { Inject, Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { type Counter, type Gauge, type Histogram } from 'prom-client';
import { INITIAL_ROUTES, type RoutesConfig } from '@app/config';
import { M } from './metrics.definitions.js';

export type UpstreamOutcome = 'success' | 'http_4xx' | 'http_5xx' | 'timeout' | 'connect_failure';
export type CircuitStateName = 'closed' | 'half_open' | 'open';
export type CacheResult = 'hit' | 'miss' | 'stale' | 'bypass';

const STATE_VALUE: Record<CircuitStateName, number> = { closed: 0, half_open: 1, open: 2 };
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

/** `method` label: a standard method, else `other` (clients cannot grow the label set). */
export function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : 'other';
}

/** JSON summary of `/metrics` with `Accept: application/json` (CONTRACT §3). */
export interface MetricsSummary {
  circuit_breakers: Record<string, string>;
  total_requests: number;
  total_retries: number;
  rate_limit_allowed: number;
  rate_limit_blocked: number;
  cache_hits: number;
}

/**
 * The one place that records metrics. Other modules call these methods; label values come
 * from the route table (never from raw request data).
 */
@Injectable()
export class MetricsService {
  private readonly totals = { requests: 0, retries: 0, allowed: 0, blocked: 0, cacheHits: 0 };
  private readonly circuits = new Map<string, CircuitStateName>();
  /* Labelled children cached by key: prom-client hashes labels on every inc() otherwise. */
  private readonly requestChildren = new Map<string, Counter.Internal>();
  private readonly durationChildren = new Map<string, Histogram.Internal<string>>();
  private readonly upstreamChildren = new Map<string, Counter.Internal>();
  private readonly rateLimitChildren = new Map<string, Counter.Internal>();

  constructor(
    @InjectMetric(M.requests) private readonly requests: Counter<string>,
    @InjectMetric(M.duration) private readonly duration: Histogram<string>,
    @InjectMetric(M.upstream) private readonly upstream: Counter<string>,
    @InjectMetric(M.circuitState) private readonly circuitState: Gauge<string>,
    @InjectMetric(M.transitions) private readonly transitions: Counter<string>,
    @InjectMetric(M.retries) private readonly retries: Counter<string>,
    @InjectMetric(M.budgetExhausted) private readonly budgetExhausted: Counter<string>,
    @InjectMetric(M.rateLimit) private readonly rateLimit: Counter<string>,
    @InjectMetric(M.redisFallback) private readonly redisFallback: Gauge<string>,
    @InjectMetric(M.cache) private readonly cache: Counter<string>,
    @InjectMetric(M.reloads) private readonly reloads: Counter<string>,
    @Inject(INITIAL_ROUTES) routes: RoutesConfig,
  ) {
    this.redisFallback.set(0);
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    this.registerServices(routes);
  }

  /** Makes every instance's circuit gauge and the per-service series visible before traffic. */
  registerServices(routes: RoutesConfig): void {
    for (const svc of routes.services.values()) {
      for (const inst of svc.instances) {
        if (!this.circuits.has(inst.id)) this.setCircuitState(svc.name, inst.hostPort, 'closed');
      }
      this.budgetExhausted.inc({ service: svc.name }, 0);
      if (svc.rateLimit) {
        this.rateLimit.inc({ service: svc.name, decision: 'allowed' }, 0);
        this.rateLimit.inc({ service: svc.name, decision: 'blocked' }, 0);
      }
    }
  }

  /** Drops the series of instances no longer in the table (after a reload). */
  forgetInstance(service: string, upstream: string): void {
    const prefix = `${service}\u0000${upstream}\u0000`;
    for (const key of this.upstreamChildren.keys()) if (key.startsWith(prefix)) this.upstreamChildren.delete(key);
    this.circuits.delete(`${service}/${upstream}`);
    this.circuitState.remove({ service, upstream });
  }

  recordRequest(service: string, method: string | undefined, status: number, seconds: number): void {
    const m = methodLabel(method);
    const key = `${service}\u0000${m}\u0000${status}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requests.labels(service, m, String(status));
      this.requestChildren.set(key, child);
    }
    child.inc();
    const dkey = `${service}\u0000${m}`;
    let hist = this.durationChildren.get(dkey);
    if (!hist) {
      hist = this.duration.labels(service, m);
      this.durationChildren.set(dkey, hist);
    }
    hist.observe(seconds);
    if (service !== 'gateway') this.totals.requests++;
  }

  recordUpstream(service: string, upstream: string, outcome: UpstreamOutcome): void {
    const key = `${service}\u0000${upstream}\u0000${outcome}`;
    let child = this.upstreamChildren.get(key);
    if (!child) {
      child = this.upstream.labels(service, upstream, outcome);
      this.upstreamChildren.set(key, child);
    }
    child.inc();
  }

  setCircuitState(service: string, upstream: string, state: CircuitStateName): void {
    this.circuits.set(`${service}/${upstream}`, state);
    this.circuitState.set({ service, upstream }, STATE_VALUE[state]);
  }

  recordTransition(service: string, upstream: string, from: CircuitStateName, to: CircuitStateName): void {
    this.transitions.inc({ service, upstream, from, to });
    this.setCircuitState(service, upstream, to);
  }

  recordRetry(service: string, reason: string): void {
    this.retries.inc({ service, reason });
    this.totals.retries++;
  }

  recordRetryBudgetExhausted(service: string): void {
    this.budgetExhausted.inc({ service });
  }

  recordRateLimit(service: string, allowed: boolean): void {
    const decision = allowed ? 'allowed' : 'blocked';
    const key = `${service}\u0000${decision}`;
    let child = this.rateLimitChildren.get(key);
    if (!child) {
      child = this.rateLimit.labels(service, decision);
      this.rateLimitChildren.set(key, child);
    }
    child.inc();
    if (allowed) this.totals.allowed++;
    else this.totals.blocked++;
  }

  setRedisFallback(active: boolean): void {
    this.redisFallback.set(active ? 1 : 0);
  }

  recordCacheLookup(service: string, result: CacheResult): void {
    this.cache.inc({ service, result });
    if (result === 'hit') this.totals.cacheHits++;
  }

  recordReload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
  }

  /** Totals since start: the JSON summary and the dashboard read these. */
  summary(): MetricsSummary {
    const circuit_breakers: Record<string, string> = {};
    for (const [id, state] of this.circuits) circuit_breakers[id] = state.toUpperCase();
    return {
      circuit_breakers,
      total_requests: this.totals.requests,
      total_retries: this.totals.retries,
      rate_limit_allowed: this.totals.allowed,
      rate_limit_blocked: this.totals.blocked,
      cache_hits: this.totals.cacheHits,
    };
  }
}
