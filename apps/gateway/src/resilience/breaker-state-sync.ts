import { type CircuitStateName } from '../metrics/metrics.service.js';

/** Injection token of the fleet-wide breaker state ({@link BreakerStateSync}). */
export const BREAKER_SYNC = Symbol('BREAKER_SYNC');

export interface RemoteBreakerState {
  readonly state: CircuitStateName;
  /** When the circuit goes half-open (epoch ms), for `open`. */
  readonly nextTrialAt: number | null;
}

/**
 * How replicas share breaker state. The embedded (memory) implementation is the single
 * replica's own state; the Redis one writes transitions to a hash, publishes them on a
 * channel, and leases half-open trials fleet-wide.
 */
export interface BreakerStateSync {
  /** Tells the fleet about a local transition. */
  publish(id: string, state: RemoteBreakerState): void;
  /** Listens for other replicas' transitions. */
  onRemote(listener: (id: string, state: RemoteBreakerState) => void): void;
  /** The fleet's last known state of these breakers (start-up, Redis recovery). */
  load(ids: readonly string[]): Promise<Map<string, RemoteBreakerState>>;
  /** A fleet-wide permit for one half-open trial; true when granted (always, when local-only). */
  acquireTrial(id: string, max: number, ttlMs: number): Promise<boolean>;
  releaseTrial(id: string): void;
  /** Called when shared state became reachable again (converge). */
  onReconnect(listener: () => void): void;
}

/** Single replica: nothing to share. */
export class LocalBreakerStateSync implements BreakerStateSync {
  publish(): void {}
  onRemote(): void {}
  load(): Promise<Map<string, RemoteBreakerState>> {
    return Promise.resolve(new Map());
  }
  acquireTrial(): Promise<boolean> {
    return Promise.resolve(true);
  }
  releaseTrial(): void {}
  onReconnect(): void {}
}
