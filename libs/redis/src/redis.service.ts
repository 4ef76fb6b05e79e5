import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Cluster, type ClusterOptions, Redis, type RedisOptions as IoRedisOptions } from 'ioredis';
import { REDIS_OPTIONS } from './redis.constants.js';
import { type RedisOptions } from './redis-options.interface.js';

const DEFAULT_HEARTBEAT_MS = 1000;
const QUIT_TIMEOUT_MS = 500;

/** Reconnect delay: 50 ms doubling up to 1 s, with a little jitter so a fleet does not reconnect in step; forever. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.max(0, attempt - 1), 1000);
  return base + Math.floor(Math.random() * 50);
}

/** Hides credentials if an error message ever carries a URL. */
function redact(message: string): string {
  return message.replace(/\/\/[^@/\s]*@/g, '//***@');
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
}

function endpoint(url: URL): Endpoint {
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 6379) };
}

/**
 * The app's one Redis connection (ioredis), with an observable up/down state.
 *
 * - Start-up never waits for Redis (`lazyConnect`, connected in the background): the gateway
 *   starts degraded when Redis is down and recovers by itself (reconnect with capped backoff, forever).
 * - Fail fast: no offline queue, no retries of a command, `commandTimeoutMs` per command. Callers
 *   have a local fallback and use it when a command rejects.
 * - `up` is "connected and answering": a heartbeat PING notices a Redis that holds its socket
 *   open but does not answer (paused, overloaded).
 * - Auto-pipelining batches the commands of concurrent requests into one write.
 *
 * @example
 * const n = await redis.client?.incr(redis.key('{counter}'));
 * redis.onStateChange((up) => metrics.setRedisFallback(!up));
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  /** Whether a Redis URL is configured. */
  readonly enabled: boolean;
  private readonly main: Redis | Cluster | null;
  private readonly subscribers = new Set<Redis | Cluster>();
  private readonly listeners = new Set<(up: boolean) => void>();
  private isUp = false;
  /** Whether any state has been reported yet (the first failure must be reported too). */
  private reported = false;
  private error: string | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private probing = false;
  private closing = false;

  constructor(@Inject(REDIS_OPTIONS) private readonly options: RedisOptions) {
    this.enabled = options.url !== null && options.url !== '';
    this.main = this.enabled ? this.build(false) : null;
    if (this.main) this.watch(this.main);
  }

  /** The ioredis client (`Redis`, or `Cluster` with `cluster: true`); null when Redis is disabled. */
  get client(): Redis | Cluster | null {
    return this.main;
  }

  /** Connected and answering (false while disabled, connecting, down or hanging). */
  get up(): boolean {
    return this.isUp;
  }

  /** The last connection error, credentials removed (for event details); null when none yet. */
  get lastError(): string | null {
    return this.error;
  }

  /**
   * Calls `cb` on every change of {@link up} (and once with `false` if the first connection
   * fails). Returns the unsubscribe function.
   */
  onStateChange(cb: (up: boolean) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /**
   * `keyPrefix + parts.join(':')`. Callers put `{hash tags}` in `parts` so that the keys one
   * command or script touches share a cluster slot.
   * @example redis.key('{rl:flaky:ip:10.0.0.1}') // 'bw:{rl:flaky:ip:10.0.0.1}'
   */
  key(...parts: string[]): string {
    return this.options.keyPrefix + parts.join(':');
  }

  /**
   * A separate connection for SUBSCRIBE (a subscribed connection can run nothing else). Unlike
   * the main client it queues commands while disconnected and resubscribes after a reconnect.
   * Closed with the app.
   * @throws when Redis is disabled
   */
  createSubscriber(): Redis | Cluster {
    if (!this.enabled) throw new Error('Redis is not configured (REDIS_URL unset)');
    const sub = this.build(true);
    sub.on('error', () => undefined); // reported through the main connection's state
    this.subscribers.add(sub);
    return sub;
  }

  /**
   * One PING round trip, in milliseconds.
   * @throws when Redis is disabled, down or does not answer within the command timeout
   */
  async ping(): Promise<number> {
    const client = this.main;
    if (!client) throw new Error('Redis is not configured (REDIS_URL unset)');
    const start = performance.now();
    await client.ping();
    return performance.now() - start;
  }

  onModuleInit(): void {
    if (!this.main) return;
    this.main.connect().catch(() => undefined); // failures arrive as 'close' events; reconnects go on
    const every = this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.heartbeat = setInterval(() => void this.probe(), every);
    this.heartbeat.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.listeners.clear();
    if (this.heartbeat) clearInterval(this.heartbeat);
    const clients = [...this.subscribers, ...(this.main ? [this.main] : [])];
    this.subscribers.clear();
    await Promise.all(clients.map((c) => close(c)));
    this.isUp = false;
  }

  private build(subscriber: boolean): Redis | Cluster {
    const o = this.options;
    const connectTimeout = Math.max(2000, o.commandTimeoutMs * 8);
    const perCommand = subscriber
      ? { maxRetriesPerRequest: null, enableAutoPipelining: false }
      : { commandTimeout: o.commandTimeoutMs, maxRetriesPerRequest: 0, enableAutoPipelining: true };
    // disconnectTimeout: a socket that does not close after QUIT is destroyed soon (shutdown stays quick).
    const common = {
      connectTimeout,
      disconnectTimeout: 200,
      connectionName: subscriber ? 'breakwater-sub' : 'breakwater',
      ...perCommand,
    };
    if (!o.cluster) {
      const options: IoRedisOptions = {
        ...common,
        lazyConnect: !subscriber,
        enableOfflineQueue: subscriber,
        retryStrategy: reconnectDelay,
      };
      return new Redis(o.url!, options);
    }
    const seeds = o
      .url!.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => new URL(s));
    const first = seeds[0]!;
    const options: ClusterOptions = {
      lazyConnect: !subscriber,
      enableOfflineQueue: subscriber,
      enableAutoPipelining: common.enableAutoPipelining,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: Math.max(1000, o.commandTimeoutMs * 4),
      redisOptions: {
        connectTimeout,
        disconnectTimeout: common.disconnectTimeout,
        connectionName: common.connectionName,
        commandTimeout: 'commandTimeout' in common ? common.commandTimeout : undefined,
        maxRetriesPerRequest: common.maxRetriesPerRequest,
        username: first.username ? decodeURIComponent(first.username) : undefined,
        password: first.password ? decodeURIComponent(first.password) : undefined,
        tls: first.protocol === 'rediss:' ? {} : undefined,
      },
    };
    return new Cluster(seeds.map(endpoint), options);
  }

  private watch(client: Redis | Cluster): void {
    client.on('ready', () => this.set(true));
    client.on('close', () => this.set(false));
    client.on('end', () => this.set(false));
    client.on('error', (err: Error) => {
      this.error = redact(err.message);
    });
    if (client instanceof Cluster) {
      client.on('node error', (err: Error) => {
        this.error = redact(err.message);
      });
    }
  }

  /** Heartbeat: a connection that is open but does not answer PING is down. */
  private async probe(): Promise<void> {
    const client = this.main;
    if (!client || this.probing || this.closing || client.status !== 'ready') return;
    this.probing = true;
    try {
      await client.ping();
      this.set(true);
    } catch (err) {
      this.error = redact((err as Error).message);
      this.set(false);
    } finally {
      this.probing = false;
    }
  }

  private set(up: boolean): void {
    if (this.closing || (this.reported && up === this.isUp)) return;
    this.reported = true;
    this.isUp = up;
    for (const cb of this.listeners) cb(up);
  }
}

async function close(client: Redis | Cluster): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('quit timed out')), QUIT_TIMEOUT_MS);
      }),
    ]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
