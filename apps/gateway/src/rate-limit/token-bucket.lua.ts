import { createHash } from 'node:crypto';

/**
 * The token bucket, atomically, in one round trip. KEYS[1]: the bucket (a hash: tokens, ts).
 * ARGV: capacity, refill per second, cost. Returns { allowed (0|1), tokens left (string) }.
 *
 * - Time comes from Redis (`TIME`), whole milliseconds: replicas' clocks never matter, and
 *   storing whole ms loses nothing (elapsed time telescopes over successive calls).
 * - A missing key reads as a full bucket, so the key expires once it would be full again
 *   (PEXPIRE), plus a second of slack. A bucket that never refills is kept a week.
 * - The same arithmetic as token-bucket.memory-store.ts; the decision is computed in JS
 *   from the tokens left (token-bucket.ts), shared by both stores.
 */
export const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / 1000
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
else
  if now > ts then
    tokens = tokens + (now - ts) * per_ms
    ts = now
  end
  if tokens > capacity then tokens = capacity end
end
local allowed = 0
if tokens + 1e-9 >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
local ttl = 604800000
if per_ms > 0 then
  ttl = math.min(ttl, math.ceil((capacity - tokens) / per_ms) + 1000)
end
redis.call('PEXPIRE', KEYS[1], ttl)
return { allowed, tostring(tokens) }
`;

/** SHA1 of {@link TOKEN_BUCKET_LUA}: what EVALSHA names. */
export const TOKEN_BUCKET_SHA = createHash('sha1').update(TOKEN_BUCKET_LUA).digest('hex');
