/** What {@link RedisModule.forRoot} takes: the gateway passes `env.redis` from libs/config. */
export interface RedisOptions {
  /** `redis://…` or `rediss://…`; with `cluster`, a comma list of seed nodes. null: Redis disabled. */
  readonly url: string | null;
  /** Connect with ioredis `Cluster` to the seeds in `url`. */
  readonly cluster: boolean;
  /** Prefix of every key ({@link RedisService.key}). @example 'bw:' */
  readonly keyPrefix: string;
  /** A command without a reply after this long is rejected (a slow Redis must not stall requests). */
  readonly commandTimeoutMs: number;
  /** How often the connection is probed with PING to notice a Redis that hangs. @default 1000 */
  readonly heartbeatMs?: number;
}
