import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { LOGGER, type Logger } from '@app/logging';

/** Something an operator wants to know happened: logged, kept for the dashboard, pushed live. */
export type GatewayEvent =
  | { type: 'breaker_transition'; service: string; upstream: string; from: string; to: string }
  | {
      type: 'config_reload';
      result: 'success' | 'failure';
      version?: string;
      changes?: unknown;
      problems?: readonly string[];
      trigger?: string;
    }
  | { type: 'redis_lost'; detail?: string }
  | { type: 'redis_recovered' }
  | { type: 'shutdown_started' };

export type StampedEvent = GatewayEvent & { readonly at: string };

const KEEP = 200;

/**
 * The gateway's event bus. Each event becomes one JSON log line (`event: <type>`), is kept in
 * a short ring for the dashboard's timeline, and is pushed to live listeners (SSE).
 */
@Injectable()
export class GatewayEvents {
  private readonly ring: StampedEvent[] = [];
  private readonly listeners = new Set<(e: StampedEvent) => void>();

  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  emit(event: GatewayEvent): void {
    const stamped = { ...event, at: new Date().toISOString() } as StampedEvent;
    this.ring.push(stamped);
    if (this.ring.length > KEEP) this.ring.shift();
    const { type, ...fields } = event;
    const level = type === 'redis_lost' || (type === 'config_reload' && event.result === 'failure') ? 'warn' : 'info';
    this.logger[level]({ event: type, ...fields }, describe(event));
    for (const listener of this.listeners) listener(stamped);
  }

  /** Subscribes; returns the unsubscribe function. */
  on(listener: (e: StampedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last events, oldest first. */
  recent(): readonly StampedEvent[] {
    return this.ring;
  }
}

function describe(e: GatewayEvent): string {
  switch (e.type) {
    case 'breaker_transition':
      return `circuit ${e.service}/${e.upstream}: ${e.from} -> ${e.to}`;
    case 'config_reload':
      return e.result === 'success' ? 'routes reloaded' : 'routes reload refused';
    case 'redis_lost':
      return 'Redis unreachable: serving with per-replica local state';
    case 'redis_recovered':
      return 'Redis reachable again: shared state restored';
    case 'shutdown_started':
      return 'shutdown started';
  }
}

@Global()
@Module({ providers: [GatewayEvents], exports: [GatewayEvents] })
export class EventsModule {}
