import CircuitBreaker from 'opossum';
import { type BreakerPolicy, type InstanceConfig } from '@app/config';
import { GatewayError, UpstreamFailure } from '../common/gateway-error.js';
import { type CircuitStateName } from '../metrics/metrics.service.js';
import { type UpstreamResponse } from '../proxy/proxy-result.js';

/** A 5xx answer: a failure for the breaker, still the upstream's answer for the client. */
class FailedResponse extends Error {
  constructor(readonly response: UpstreamResponse) {
    super(`upstream answered ${response.status}`);
  }
}

/** What counts against a circuit: connect failure, timeout, 5xx (CONTRACT §4). Not 4xx, not a client leaving. */
export function isBreakerFailure(err: unknown): boolean {
  return err instanceof UpstreamFailure || err instanceof FailedResponse;
}

export interface BreakerHooks {
  transition(breaker: InstanceBreaker, from: CircuitStateName, to: CircuitStateName): void;
  acquireTrial(breaker: InstanceBreaker): Promise<boolean>;
  releaseTrial(breaker: InstanceBreaker): void;
}

export function circuitOpenError(detail: string, retryAfterSeconds: number): GatewayError {
  return new GatewayError('CIRCUIT_OPEN', detail, { 'Retry-After': String(Math.max(1, retryAfterSeconds)) });
}

/**
 * One instance's circuit, on opossum. opossum keeps the state, the open → half-open timer
 * and the events; the contract's semantics are layered on it: `failureThreshold` consecutive
 * failures open it (opossum's own percentage trip is disabled), `halfOpenMaxRequests` trials
 * run in half-open, `successThreshold` successes close it, one failure re-opens it.
 *
 * Only this class moves the circuit. opossum on its own closes a half-open circuit on any
 * success and re-opens it on any failure, so a try that started while the circuit was still
 * closed and ends during half-open would decide it, past `successThreshold` and the trial
 * limit. Each state is a generation: a try's outcome counts only in the generation it began in.
 */
export class InstanceBreaker {
  readonly cb: CircuitBreaker<[() => Promise<UpstreamResponse>, number], UpstreamResponse>;
  private consecutiveFailures = 0;
  /** Failure count each successful answer reset, by its body (see recordLateFailure). */
  private readonly resetFrom = new WeakMap<object, number>();
  private trialsInFlight = 0;
  private trialSuccesses = 0;
  private state: CircuitStateName = 'closed';
  /** Bumped on every transition; tries carry the generation they started in. */
  private generation = 0;
  /** Set while this class itself opens or closes the opossum circuit. */
  private deciding = false;
  /** When an open circuit goes half-open (epoch ms). */
  nextTrialAt: number | null = null;

  constructor(
    readonly instance: InstanceConfig,
    private policy: BreakerPolicy,
    private readonly hooks: BreakerHooks,
  ) {
    this.cb = new CircuitBreaker((fn: () => Promise<UpstreamResponse>, _generation: number) => fn(), {
      timeout: false, // the forwarder owns timeouts (per try and total)
      resetTimeout: policy.resetTimeoutMs,
      errorThresholdPercentage: 100, // never trips by percentage: consecutive failures decide (below)
      volumeThreshold: Number.MAX_SAFE_INTEGER,
      // A failure of an earlier generation is stale: it neither counts nor moves the circuit.
      // (opossum passes the fire() arguments after the error; its typings show only the error.)
      errorFilter: ((err: unknown, _fn: unknown, generation: unknown) =>
        !isBreakerFailure(err) || generation !== this.generation) as (err: unknown) => boolean,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
      // Latency percentiles are unused here and opossum recomputes them (sorting the window's
      // latencies) on every failure: a failing upstream would cost the gateway most of its CPU.
      rollingPercentilesEnabled: false,
      name: instance.id,
    });
    const open = this.cb.open.bind(this.cb);
    const close = this.cb.close.bind(this.cb);
    this.cb.open = () => {
      if (this.deciding) open();
    };
    this.cb.close = () => {
      if (this.deciding) close();
    };
    this.cb.on('failure', (_err: unknown, _latency: unknown, args: unknown[]) => {
      if (this.state !== 'closed' || args[1] !== this.generation) return;
      this.consecutiveFailures++;
      if (this.consecutiveFailures >= this.policy.failureThreshold) this.decide('open');
    });
    this.cb.on('open', () => this.moveTo('open'));
    this.cb.on('halfOpen', () => this.moveTo('half_open'));
    this.cb.on('close', () => this.moveTo('closed'));
  }

  get current(): CircuitStateName {
    return this.state;
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  /** A reload changed the policy: apply it without losing state. */
  updatePolicy(policy: BreakerPolicy): void {
    this.policy = policy;
    (this.cb as unknown as { options: { resetTimeout: number } }).options.resetTimeout = policy.resetTimeoutMs;
  }

  /** May a request be sent here now? (Half-open: only while trial slots are free.) */
  available(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'half_open') return this.trialsInFlight < this.policy.halfOpenMaxRequests;
    return false;
  }

  /** Runs one try through the circuit. 5xx answers are failures but still returned. */
  async run(send: () => Promise<UpstreamResponse>): Promise<UpstreamResponse> {
    if (this.state === 'closed') {
      const generation = this.generation;
      try {
        const res = await this.cb.fire(async () => {
          const r = await send();
          if (r.status >= 500) throw new FailedResponse(r);
          return r;
        }, generation);
        if (generation === this.generation) {
          // Remember what this answer reset: if its body fails mid-way, the success is undone.
          this.resetFrom.set(res.body, this.consecutiveFailures);
          this.consecutiveFailures = 0;
        }
        return res;
      } catch (err) {
        if (err instanceof FailedResponse) return err.response;
        if ((err as { code?: string }).code === 'EOPENBREAKER') throw this.openError();
        throw err;
      }
    }
    if (this.state === 'half_open' && this.trialsInFlight < this.policy.halfOpenMaxRequests) {
      return this.trial(send);
    }
    throw this.openError();
  }

  /**
   * The answer started well but its body failed mid-way (upstream died, reset, or the deadline
   * cut it): that counts against the circuit too.
   */
  recordLateFailure(body?: object): void {
    if (this.state === 'half_open') {
      this.trialFailed();
      return;
    }
    if (this.state !== 'closed') return;
    const before = body ? (this.resetFrom.get(body) ?? 0) : 0;
    this.consecutiveFailures = Math.max(this.consecutiveFailures, before) + 1;
    if (this.consecutiveFailures >= this.policy.failureThreshold) this.decide('open');
  }

  private async trial(send: () => Promise<UpstreamResponse>): Promise<UpstreamResponse> {
    this.trialsInFlight++;
    let leased = false;
    try {
      leased = await this.hooks.acquireTrial(this);
      if (!leased) throw this.openError('another replica is running the trial requests');
      const res = await send();
      if (res.status >= 500) this.trialFailed();
      else this.trialSucceeded();
      return res;
    } catch (err) {
      if (isBreakerFailure(err)) this.trialFailed();
      throw err;
    } finally {
      this.trialsInFlight--;
      if (leased) this.hooks.releaseTrial(this);
    }
  }

  private trialSucceeded(): void {
    if (this.state !== 'half_open') return;
    this.trialSuccesses++;
    if (this.trialSuccesses >= this.policy.successThreshold) this.decide('closed');
  }

  private trialFailed(): void {
    if (this.state === 'half_open') this.decide('open');
  }

  /** Opens or closes the opossum circuit (the only way it moves; see the class comment). */
  private decide(to: 'open' | 'closed'): void {
    this.deciding = true;
    try {
      if (to === 'open') this.cb.open();
      else this.cb.close();
    } finally {
      this.deciding = false;
    }
  }

  openError(detail = `the circuit of ${this.instance.id} is open`): GatewayError {
    return circuitOpenError(detail, this.secondsToTrial());
  }

  secondsToTrial(now = Date.now()): number {
    return this.nextTrialAt === null ? 1 : Math.max(1, Math.ceil((this.nextTrialAt - now) / 1000));
  }

  /** Force-open (remote replica said so), keeping the fleet's trial time. */
  forceOpen(nextTrialAt: number | null): void {
    if (this.state !== 'open') this.decide('open');
    if (nextTrialAt !== null) this.nextTrialAt = nextTrialAt;
  }

  /** Force-close (admin reset, or a remote replica closed it). */
  forceClose(): void {
    if (this.state !== 'closed') this.decide('closed');
    this.consecutiveFailures = 0;
  }

  shutdown(): void {
    this.cb.shutdown();
  }

  private moveTo(next: CircuitStateName): void {
    const from = this.state;
    if (from === next) return;
    this.state = next;
    this.generation++;
    if (next === 'open') {
      this.nextTrialAt = Date.now() + this.policy.resetTimeoutMs;
      this.trialSuccesses = 0;
    } else if (next === 'half_open') {
      this.nextTrialAt = null;
      this.trialSuccesses = 0;
    } else {
      this.nextTrialAt = null;
      this.consecutiveFailures = 0;
    }
    this.hooks.transition(this, from, next);
  }
}
