import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { type RateLimitPolicy } from '@app/config';
import { RedisService } from '@app/redis';
import { type RateLimitDecision, RateLimitStore } from './rate-limit.store.js';
import { decision } from './token-bucket.js';
import { TOKEN_BUCKET_LUA, TOKEN_BUCKET_SHA } from './token-bucket.lua.js';

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * Token buckets in Redis, shared by every replica: one Lua script, loaded with SCRIPT LOAD
 * whenever the connection becomes ready (on every master of a cluster) and run with EVALSHA:
 * one round trip per take, batched with other requests' by ioredis auto-pipelining. A node
 * that lost its script cache (restart, failover, SCRIPT FLUSH) answers NOSCRIPT; that take is
 * sent again with EVAL, which also caches the script there.
 *
 * Keys: `<prefix>{<key>}`; the whole key is the hash tag, so a cluster can place each bucket
 * anywhere. Rejects when Redis fails or times out: {@link FallbackRateLimitStore} answers then.
 */
@Injectable()
export class RedisTokenBucketStore extends RateLimitStore implements OnModuleInit {
  constructor(private readonly redis: RedisService) {
    super();
  }

  onModuleInit(): void {
    this.redis.onStateChange((up) => {
      if (up) void this.loadScript();
    });
  }

  /** SCRIPT LOAD on the server (every master of a cluster). Failures are harmless: EVAL covers them. */
  async loadScript(): Promise<void> {
    const client = this.redis.client;
    if (!client) return;
    const targets = client instanceof Cluster ? client.nodes('master') : [client];
    await Promise.all(targets.map((node) => node.script('LOAD', TOKEN_BUCKET_LUA).catch(() => undefined)));
  }

  async take(key: string, policy: RateLimitPolicy, cost = 1): Promise<RateLimitDecision> {
    const client = this.redis.client;
    if (!client) throw new Error('Redis is not configured');
    const redisKey = this.redis.key(`{${key}}`);
    let reply: unknown;
    try {
      reply = await client.evalsha(TOKEN_BUCKET_SHA, 1, redisKey, policy.capacity, policy.refillPerSecond, cost);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      reply = await client.eval(TOKEN_BUCKET_LUA, 1, redisKey, policy.capacity, policy.refillPerSecond, cost);
    }
    const [allowed, tokens] = reply as [number, string];
    return decision(allowed === 1, Number(tokens), policy, cost);
  }
}
