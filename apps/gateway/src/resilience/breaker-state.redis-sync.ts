import { randomUUID } from 'node:crypto';
import { type RedisService } from '@app/redis';
import { type BreakerStateSync, type RemoteBreakerState } from './breaker-state-sync.js';

/* Keys share the {cb} hash tag: one slot in a Redis Cluster for the state hash and the leases. */

/** INCR a lease counter; grant while ≤ max; the lease expires if its holder dies. */
const ACQUIRE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end
return 1`;
/** Give a lease back, never below zero (it may have expired meanwhile). */
const RELEASE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 1`;

interface Message {
  readonly origin: string;
  readonly id: string;
  readonly state: RemoteBreakerState['state'];
  readonly nextTrialAt: number | null;
}

/**
 * Fleet-wide breaker state through Redis: each transition to open or closed is written to a
 * hash (so a replica that starts or reconnects reads the fleet's view) and published on a
 * channel (so every replica sees it within milliseconds). Half-open trials take a short
 * lease, so only `halfOpenMaxRequests` run across the fleet. Redis gone: every call is a
 * no-op or grants locally; each replica keeps its own breakers and converges on reconnect.
 */
export class RedisBreakerStateSync implements BreakerStateSync {
  private readonly origin = randomUUID();
  private readonly stateKey: string;
  private readonly channel: string;
  private subscribed = false;
  private readonly reconnectListeners: (() => void)[] = [];

  constructor(private readonly redis: RedisService) {
    this.stateKey = redis.key('{cb}', 'state');
    this.channel = redis.key('cb', 'events');
  }

  publish(id: string, state: RemoteBreakerState): void {
    const client = this.redis.client;
    if (!client || !this.redis.up) return;
    const msg: Message = { origin: this.origin, id, state: state.state, nextTrialAt: state.nextTrialAt };
    const json = JSON.stringify(msg);
    client.hset(this.stateKey, id, json).catch(() => undefined);
    client.publish(this.channel, json).catch(() => undefined);
  }

  onRemote(listener: (id: string, state: RemoteBreakerState) => void): void {
    if (this.subscribed || !this.redis.enabled) return;
    this.subscribed = true;
    const sub = this.redis.createSubscriber();
    sub.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      const msg = parse(text);
      if (msg && msg.origin !== this.origin) listener(msg.id, { state: msg.state, nextTrialAt: msg.nextTrialAt });
    });
    sub.subscribe(this.channel).catch(() => undefined);
    // The subscriber reconnects on its own schedule: what was published before it was back is
    // only in the hash, so read it again (the first 'ready' is start-up, converged anyway).
    let first = true;
    sub.on('ready', () => {
      if (first) first = false;
      else for (const listener of this.reconnectListeners) listener();
    });
  }

  async load(ids: readonly string[]): Promise<Map<string, RemoteBreakerState>> {
    const out = new Map<string, RemoteBreakerState>();
    const client = this.redis.client;
    if (!client || ids.length === 0) return out;
    const values = await client.hmget(this.stateKey, ...ids);
    ids.forEach((id, i) => {
      const msg = values[i] ? parse(values[i]!) : null;
      if (msg) out.set(id, { state: msg.state, nextTrialAt: msg.nextTrialAt });
    });
    return out;
  }

  async acquireTrial(id: string, max: number, ttlMs: number): Promise<boolean> {
    const client = this.redis.client;
    if (!client || !this.redis.up) return true;
    try {
      return (await client.eval(ACQUIRE, 1, this.leaseKey(id), max, ttlMs)) === 1;
    } catch {
      return true; // Redis failed mid-way: this replica decides alone
    }
  }

  releaseTrial(id: string): void {
    const client = this.redis.client;
    if (!client || !this.redis.up) return;
    client.eval(RELEASE, 1, this.leaseKey(id)).catch(() => undefined);
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
    this.redis.onStateChange((up) => {
      if (up) listener();
    });
  }

  private leaseKey(id: string): string {
    return this.redis.key('{cb}', 'trial', id);
  }
}

function parse(text: string): Message | null {
  try {
    const m = JSON.parse(text) as Message;
    return typeof m.id === 'string' && (m.state === 'open' || m.state === 'closed') ? m : null;
  } catch {
    return null;
  }
}
