import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type InstanceConfig, type RoutesConfig, type ServiceConfig } from '@app/config';
import { GatewayEvents } from '../events/gateway-events.service.js';
import { type CircuitStateName, MetricsService } from '../metrics/metrics.service.js';
import { RouteTable } from '../routing/route-table.service.js';
import { BREAKER_SYNC, type BreakerStateSync, type RemoteBreakerState } from './breaker-state-sync.js';
import { type BreakerHooks, circuitOpenError, InstanceBreaker } from './instance-breaker.js';

/** One breaker as the admin endpoint and the dashboard show it. */
export interface BreakerSnapshot {
  readonly id: string;
  readonly service: string;
  readonly upstream: string;
  readonly state: 'CLOSED' | 'HALF_OPEN' | 'OPEN';
  readonly consecutiveFailures: number;
  /** When an open circuit lets its next trial through (ISO time), else null. */
  readonly nextTrialAt: string | null;
}

/**
 * One breaker per `service/instance`, created from the route table and kept across
 * reloads (unchanged instances keep their state; removed ones are shut down).
 */
@Injectable()
export class BreakerRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly breakers = new Map<string, InstanceBreaker>();
  /** Set while a remote replica's transition is applied, so it is not published back. */
  private applyingRemote = false;
  private readonly hooks: BreakerHooks;

  constructor(
    private readonly table: RouteTable,
    private readonly metrics: MetricsService,
    private readonly events: GatewayEvents,
    @Inject(BREAKER_SYNC) private readonly sync: BreakerStateSync,
  ) {
    this.hooks = {
      transition: (b, from, to) => this.onTransition(b, from, to),
      acquireTrial: (b) =>
        this.sync.acquireTrial(b.instance.id, this.policyOf(b).halfOpenMaxRequests, this.trialLeaseMs(b)),
      releaseTrial: (b) => this.sync.releaseTrial(b.instance.id),
    };
    this.apply(table.config);
    table.onChange((next) => this.apply(next));
    sync.onRemote((id, state) => this.applyRemote(id, state));
    sync.onReconnect(() => void this.converge());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.converge();
  }

  onApplicationShutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }

  /** Load-balancer predicate: may this instance take a request now? */
  readonly usable = (instance: InstanceConfig): boolean => this.breakers.get(instance.id)?.available() ?? true;

  get(id: string): InstanceBreaker | undefined {
    return this.breakers.get(id);
  }

  /** Whether any instance of the service can take a request now. */
  anyUsable(service: ServiceConfig): boolean {
    return service.instances.some(this.usable);
  }

  /** 503 CIRCUIT_OPEN for a service none of whose instances can take a request. */
  allOpenError(service: ServiceConfig): Error {
    const now = Date.now();
    let seconds = Infinity;
    for (const inst of service.instances) {
      const b = this.breakers.get(inst.id);
      if (b) seconds = Math.min(seconds, b.secondsToTrial(now));
    }
    return circuitOpenError(
      `every instance of "${service.name}" has its circuit open`,
      Number.isFinite(seconds) ? seconds : 1,
    );
  }

  snapshot(): BreakerSnapshot[] {
    const out: BreakerSnapshot[] = [];
    for (const b of this.breakers.values()) {
      out.push({
        id: b.instance.id,
        service: b.instance.service,
        upstream: b.instance.hostPort,
        state: b.current.toUpperCase() as BreakerSnapshot['state'],
        consecutiveFailures: b.failures,
        nextTrialAt: b.nextTrialAt === null ? null : new Date(b.nextTrialAt).toISOString(),
      });
    }
    return out;
  }

  /** Force-closes every breaker of a service (admin). Returns the ids reset, or null for an unknown service. */
  reset(service: string): string[] | null {
    const svc = this.table.service(service);
    if (!svc) return null;
    const ids: string[] = [];
    for (const inst of svc.instances) {
      const b = this.breakers.get(inst.id);
      if (b) {
        b.forceClose();
        ids.push(inst.id);
      }
    }
    return ids;
  }

  private policyOf(b: InstanceBreaker): ServiceConfig['circuitBreaker'] {
    return (
      this.table.service(b.instance.service)?.circuitBreaker ?? {
        failureThreshold: 5,
        resetTimeoutMs: 10000,
        halfOpenMaxRequests: 1,
        successThreshold: 1,
      }
    );
  }

  /** A trial lease outlives the longest a trial can take, and no more. */
  private trialLeaseMs(b: InstanceBreaker): number {
    return (this.table.service(b.instance.service)?.timeoutMs ?? 5000) + 1000;
  }

  private apply(routes: RoutesConfig): void {
    const wanted = new Map<string, { inst: InstanceConfig; svc: ServiceConfig }>();
    for (const svc of routes.services.values()) for (const inst of svc.instances) wanted.set(inst.id, { inst, svc });
    for (const [id, b] of this.breakers) {
      if (!wanted.has(id)) {
        b.shutdown();
        this.breakers.delete(id);
        this.metrics.forgetInstance(b.instance.service, b.instance.hostPort);
      }
    }
    for (const [id, { inst, svc }] of wanted) {
      const existing = this.breakers.get(id);
      if (existing) existing.updatePolicy(svc.circuitBreaker);
      else this.breakers.set(id, new InstanceBreaker(inst, svc.circuitBreaker, this.hooks));
    }
    this.metrics.registerServices(routes);
  }

  private onTransition(b: InstanceBreaker, from: CircuitStateName, to: CircuitStateName): void {
    const { service, hostPort } = b.instance;
    this.metrics.recordTransition(service, hostPort, from, to);
    this.events.emit({ type: 'breaker_transition', service, upstream: hostPort, from, to });
    // half_open is each replica's own timer; open and closed are shared.
    if (!this.applyingRemote && to !== 'half_open')
      this.sync.publish(b.instance.id, { state: to, nextTrialAt: b.nextTrialAt });
  }

  private applyRemote(id: string, remote: RemoteBreakerState): void {
    const b = this.breakers.get(id);
    if (!b) return;
    this.applyingRemote = true;
    try {
      if (remote.state === 'open' && (remote.nextTrialAt === null || remote.nextTrialAt > Date.now())) {
        if (b.current === 'closed' || (b.current === 'half_open' && remote.nextTrialAt !== null))
          b.forceOpen(remote.nextTrialAt);
      } else if (remote.state === 'closed' && b.current !== 'closed') {
        b.forceClose();
      }
    } finally {
      this.applyingRemote = false;
    }
  }

  /**
   * Takes the fleet's view (start-up, Redis back): open circuits elsewhere open here too. First
   * tells the fleet about circuits this replica opened alone while Redis was away: they were
   * never published, and a restarted Redis has no state at all.
   */
  private async converge(): Promise<void> {
    for (const b of this.breakers.values()) {
      if (b.current === 'open') this.sync.publish(b.instance.id, { state: 'open', nextTrialAt: b.nextTrialAt });
    }
    try {
      const states = await this.sync.load([...this.breakers.keys()]);
      for (const [id, state] of states) if (state.state === 'open') this.applyRemote(id, state);
    } catch {
      /* shared state unreachable: local breakers keep working */
    }
  }
}
