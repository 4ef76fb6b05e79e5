import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { GATEWAY_ENV, type GatewayEnv, type ServiceConfig } from '@app/config';
import { LOGGER, type Logger } from '@app/logging';
import { GatewayEvents } from '../events/gateway-events.service.js';
import { ShutdownState } from '../health/shutdown-state.service.js';
import { BreakerRegistry } from '../resilience/breaker-registry.service.js';
import { RouteTable } from '../routing/route-table.service.js';
import { type DrillParams } from './drill-params.js';

export type DrillPhase = 'burst' | 'fail_fast' | 'waiting' | 'trials' | 'done' | 'failed';

/** One step of a drill, pushed to the dashboard's stream as an SSE `drill` event. */
export interface DrillProgress {
  readonly id: string;
  readonly at: string;
  readonly phase: DrillPhase;
  readonly service: string;
  readonly message: string;
  /** Requests sent so far, and their answers by status. */
  readonly sent: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Answers the gateway gave itself because every circuit was open (503 CIRCUIT_OPEN). */
  readonly fastFails: number;
  readonly breakers: readonly { id: string; state: string }[];
  /** Set on the last event: whether every breaker opened and closed again. */
  readonly ok?: boolean;
}

/** What the snapshot shows about drills. */
export interface DrillStatus {
  readonly enabled: boolean;
  readonly running: DrillProgress | null;
  readonly last: DrillProgress | null;
}

/** Raised when a drill is asked for while one runs (HTTP 409). */
export class DrillRunning extends Error {}

const MAX_BURST = 100;
const TRIAL_SPACING_MS = 100;

/**
 * The circuit-breaker drill: a burst of requests through the gateway's own proxy listener
 * (loopback, so the whole pipeline runs: routing, keys, limits, retries, breakers) at a
 * failing path until every breaker of the service is open, a few more to show them failing
 * fast, a wait for the reset timeout, then requests to a healthy path until every breaker is
 * closed again. Bounded in requests and time; one at a time.
 */
@Injectable()
export class DrillService implements OnApplicationShutdown {
  private current: DrillProgress | null = null;
  private last: DrillProgress | null = null;
  private abort: AbortController | null = null;
  private readonly listeners = new Set<(p: DrillProgress) => void>();
  private readonly milestones: DrillProgress[] = [];

  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly table: RouteTable,
    private readonly breakers: BreakerRegistry,
    private readonly shutdown: ShutdownState,
    events: GatewayEvents,
  ) {
    events.on((e) => {
      if (e.type === 'shutdown_started') this.abort?.abort();
    });
  }

  get enabled(): boolean {
    return this.env.dashboard.drill;
  }

  status(): DrillStatus {
    return { enabled: this.enabled, running: this.current, last: this.last };
  }

  /** Subscribes to progress; returns the unsubscribe function. */
  onProgress(listener: (p: DrillProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts and finishes of recent drills, oldest first (the timeline after a reconnect). */
  recentMilestones(): readonly DrillProgress[] {
    return this.milestones;
  }

  /**
   * Starts a drill in the background.
   * @throws {DrillRunning} when one is running
   */
  start(params: DrillParams): DrillProgress {
    if (this.abort) throw new DrillRunning('a drill is already running');
    const service = this.table.service(params.service)!;
    const abort = new AbortController();
    this.abort = abort;
    const run = new DrillRun(randomBytes(4).toString('hex'), params, service, this, abort.signal);
    const first = run.report('burst', `sending failing requests to ${params.failPath}`);
    void run
      .execute()
      .catch((err: unknown) => {
        run.report(
          'failed',
          abort.signal.aborted ? 'stopped: the gateway is shutting down' : `stopped: ${(err as Error).message}`,
          false,
        );
      })
      .finally(() => {
        this.abort = null;
        this.current = null;
      });
    return first;
  }

  onApplicationShutdown(): void {
    this.abort?.abort();
  }

  /** @internal called by the run */
  publish(p: DrillProgress): void {
    const final = p.phase === 'done' || p.phase === 'failed';
    if (final) {
      this.last = p;
      this.current = null;
    } else this.current = p;
    if (final || this.milestones.length === 0 || this.milestones[this.milestones.length - 1].id !== p.id) {
      this.milestones.push(p);
      if (this.milestones.length > 20) this.milestones.shift();
      this.logger.info(
        { event: 'dashboard_drill', drill: p.id, service: p.service, phase: p.phase, sent: p.sent, ok: p.ok },
        `drill ${p.phase}: ${p.message}`,
      );
    }
    for (const l of this.listeners) l(p);
  }

  /** @internal */
  get deps(): { env: GatewayEnv; breakers: BreakerRegistry; shutdown: ShutdownState } {
    return { env: this.env, breakers: this.breakers, shutdown: this.shutdown };
  }
}

/** One drill's state and steps. */
class DrillRun {
  private sent = 0;
  private fastFails = 0;
  private readonly statuses: Record<string, number> = {};
  private readonly base: string;
  private readonly agent: Agent;

  constructor(
    private readonly id: string,
    private readonly params: DrillParams,
    private readonly service: ServiceConfig,
    private readonly owner: DrillService,
    private readonly signal: AbortSignal,
  ) {
    const { env } = owner.deps;
    this.base = `${env.tls ? 'https' : 'http'}://${loopbackHost(env.host)}:${env.port}/v1/proxy/${service.name}`;
    // Loopback to our own listener: its certificate names the public host, not 127.0.0.1.
    this.agent = new Agent({ connections: 8, connect: env.tls ? { rejectUnauthorized: false } : undefined });
  }

  async execute(): Promise<void> {
    try {
      await this.steps();
    } finally {
      await this.agent.close().catch(() => undefined);
    }
  }

  private async steps(): Promise<void> {
    const policy = this.service.circuitBreaker;
    const deadline = Date.now() + 20_000 + 3 * policy.resetTimeoutMs;

    // 1. Burst at the failing path until every breaker is open (a few workers, bounded).
    const burstMax = Math.min(MAX_BURST, policy.failureThreshold * this.service.instances.length * 3 + 6);
    const worker = async (): Promise<void> => {
      while (this.sent < burstMax && !this.allIn('open') && this.live(deadline)) {
        await this.send(this.params.failPath);
        this.report('burst', `sending failing requests to ${this.params.failPath}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    this.check(deadline);
    if (!this.anyIn('open')) {
      const hint = this.statuses['401']
        ? `the service requires an API key, which the drill does not have`
        : this.statuses['429']
          ? 'the requests were rate-limited'
          : `no circuit opened after ${this.sent} requests: does ${this.params.failPath} fail (5xx)?`;
      this.report('failed', hint, false);
      return;
    }

    // 2. Open: requests now fail fast, without reaching the upstream.
    this.report('fail_fast', 'circuits open: requests fail fast without reaching the upstream');
    // Only while no trial is near: a failing request in half-open would re-open the circuit.
    for (let i = 0; i < 3 && this.allIn('open') && this.msToFirstTrial() > 500; i++) {
      await this.send(this.params.failPath);
      this.report('fail_fast', 'circuits open: requests fail fast without reaching the upstream');
    }

    // 3. Wait out the reset timeout (the breakers' own timers move them to half-open).
    const trialAt = Math.max(...this.snapshot().map((b) => (b.nextTrialAt ? Date.parse(b.nextTrialAt) : 0)));
    const wait = Math.max(0, trialAt - Date.now());
    this.report('waiting', `waiting ${(wait / 1000).toFixed(1)} s for the reset timeout`);
    await sleep(wait + 20, undefined, { signal: this.signal });
    while (this.anyIn('open') && Date.now() < trialAt + 2000) await sleep(20, undefined, { signal: this.signal });

    // 4. Trials at the healthy path until every breaker is closed (bounded).
    const trialMax = 10 * this.service.instances.length + 10;
    let trials = 0;
    this.report('trials', `half-open: sending trial requests to ${this.params.okPath}`);
    while (!this.allIn('closed') && trials < trialMax && this.live(deadline)) {
      await this.send(this.params.okPath);
      trials++;
      this.report('trials', `half-open: sending trial requests to ${this.params.okPath}`);
      if (!this.allIn('closed')) await sleep(TRIAL_SPACING_MS, undefined, { signal: this.signal });
    }
    this.check(deadline);
    if (this.allIn('closed'))
      this.report('done', `every circuit of ${this.service.name} opened and closed again`, true);
    else
      this.report(
        'failed',
        `not every circuit closed after ${trials} trial requests: is ${this.params.okPath} healthy?`,
        false,
      );
  }

  report(phase: DrillPhase, message: string, ok?: boolean): DrillProgress {
    const p: DrillProgress = {
      id: this.id,
      at: new Date().toISOString(),
      phase,
      service: this.service.name,
      message,
      sent: this.sent,
      statuses: { ...this.statuses },
      fastFails: this.fastFails,
      breakers: this.snapshot().map((b) => ({ id: b.id, state: b.state })),
      ...(ok === undefined ? {} : { ok }),
    };
    this.owner.publish(p);
    return p;
  }

  private async send(path: string): Promise<void> {
    this.sent++;
    const n = this.sent;
    let status = 'error';
    try {
      const res = await request(this.base + path, {
        method: 'GET',
        dispatcher: this.agent,
        signal: this.signal,
        headers: { 'x-request-id': `drill-${this.id}-${n}`, 'user-agent': 'breakwater-drill' },
        headersTimeout: this.service.totalTimeoutMs + 2000,
        bodyTimeout: this.service.totalTimeoutMs + 2000,
      });
      status = String(res.statusCode);
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode === 503 && type.startsWith('application/problem+json')) {
        const problem = (await res.body.json().catch(() => ({}))) as { code?: string };
        if (problem.code === 'CIRCUIT_OPEN') this.fastFails++;
      } else await res.body.dump({ limit: 1 << 16 }).catch(() => undefined);
    } catch (err) {
      if (this.signal.aborted) throw err;
    }
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  private snapshot(): ReturnType<BreakerRegistry['snapshot']> {
    return this.owner.deps.breakers.snapshot().filter((b) => b.service === this.service.name);
  }

  private allIn(state: 'open' | 'closed'): boolean {
    const s = this.snapshot();
    return s.length > 0 && s.every((b) => b.state === state.toUpperCase());
  }

  private anyIn(state: 'open'): boolean {
    return this.snapshot().some((b) => b.state === state.toUpperCase());
  }

  private msToFirstTrial(): number {
    const times = this.snapshot().map((b) => (b.nextTrialAt ? Date.parse(b.nextTrialAt) : Infinity));
    return Math.min(...times) - Date.now();
  }

  private live(deadline: number): boolean {
    return !this.signal.aborted && !this.owner.deps.shutdown.draining && Date.now() < deadline;
  }

  private check(deadline: number): void {
    if (this.signal.aborted || this.owner.deps.shutdown.draining) throw new Error('the gateway is shutting down');
    if (Date.now() >= deadline) throw new Error('the drill ran out of time');
  }
}

/** Where this process can reach its own listener. */
export function loopbackHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
