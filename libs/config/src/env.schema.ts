import { isIP } from 'node:net';
import { z } from 'zod';

/* Each environment variable is parsed from its string form by one zod schema. Defaults live
 * here, once. Messages say what is wrong and the expected form; they never echo secret values. */

const bool = z.string().transform((value, ctx) => {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  ctx.addIssue({ code: 'custom', message: `"${value}" is not a boolean; expected true, false, 1 or 0` });
  return z.NEVER;
});

function number(opts: { int?: boolean; min?: number; max?: number; unit?: string }) {
  const form = `${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${
    opts.max !== undefined ? ` and ≤ ${opts.max}` : ''
  }${opts.unit ? ` (${opts.unit})` : ''}`;
  return z.string().transform((value, ctx) => {
    const v = value.trim();
    const n = v === '' ? NaN : Number(v);
    if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n))) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is not ${opts.int ? 'an integer' : 'a number'}; expected ${form}`,
      });
      return z.NEVER;
    }
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      ctx.addIssue({ code: 'custom', message: `${n} is out of range; expected ${form}` });
      return z.NEVER;
    }
    return n;
  });
}

const port = number({ int: true, min: 1, max: 65535 });

const nonEmpty = z.string().transform((value, ctx) => {
  if (value.trim() === '') {
    ctx.addIssue({ code: 'custom', message: 'is empty; unset it or give a value' });
    return z.NEVER;
  }
  return value.trim();
});

const secret = z.string().transform((value, ctx) => {
  if (value.trim().length < 8) {
    ctx.addIssue({ code: 'custom', message: 'is too short (value not shown); expected at least 8 characters' });
    return z.NEVER;
  }
  return value.trim();
});

const httpUrl = z.string().transform((value, ctx) => {
  try {
    const u = new URL(value.trim());
    if ((u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.search && !u.hash) return u.toString();
  } catch {
    /* reported below */
  }
  ctx.addIssue({ code: 'custom', message: `"${value}" is not a valid URL; expected http(s)://host:port[/base-path]` });
  return z.NEVER;
});

const redisUrl = z.string().transform((value, ctx) => {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const ok =
    parts.length > 0 &&
    parts.every((p) => {
      try {
        const u = new URL(p);
        return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
      } catch {
        return false;
      }
    });
  if (!ok) {
    // The value may hold a password: never echo it.
    ctx.addIssue({
      code: 'custom',
      message: 'is not a valid Redis URL (value not shown); expected redis://[:password@]host:port[/db] or rediss://…',
    });
    return z.NEVER;
  }
  return parts.join(',');
});

/** A `name:key` list. Keys are secrets: messages name the entry, never the key. */
export interface InlineApiKey {
  readonly name: string;
  readonly key: string;
}
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const apiKeys = z.string().transform((value, ctx) => {
  const out: InlineApiKey[] = [];
  const seen = new Set<string>();
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon) : '';
    const key = colon > 0 ? entry.slice(colon + 1) : '';
    if (!KEY_NAME.test(name) || key.length < 8) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${i + 1} is malformed (value not shown); expected name:key with name [A-Za-z0-9._-] and a key of at least 8 characters`,
      });
    } else if (seen.has(name)) {
      ctx.addIssue({ code: 'custom', message: `key name "${name}" appears twice; names must be unique` });
    } else {
      seen.add(name);
      out.push({ name, key });
    }
  });
  if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'is empty; expected name:key[,name:key…]' });
  return out;
});

/** Express `trust proxy` values: the words true/false, a hop count, or a list of addresses/CIDRs/names. */
export type TrustProxy = boolean | number | readonly string[];
const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  const v = value.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((item) => {
    if (TRUST_NAMES.has(item)) return false;
    const [addr, bits, extra] = item.split('/');
    if (extra !== undefined || !addr || isIP(addr) === 0) return true;
    if (bits === undefined) return false;
    const max = isIP(addr) === 4 ? 32 : 128;
    return !/^\d+$/.test(bits) || Number(bits) > max;
  });
  if (list.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a trust-proxy value; expected true, false, a hop count (digits) or a comma list of addresses/CIDRs (or loopback, linklocal, uniquelocal)`,
    });
    return z.NEVER;
  }
  return list;
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const logLevel = z.string().transform((value, ctx) => {
  const v = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as (typeof LOG_LEVELS)[number];
  ctx.addIssue({ code: 'custom', message: `"${value}" is not a log level; expected one of ${LOG_LEVELS.join(', ')}` });
  return z.NEVER;
});

/** A retryable outcome: `connect-failure`, `timeout` or an HTTP status 500–599 / 429 / 408. */
export type RetryOutcome = 'connect-failure' | 'timeout' | number;
export function parseRetryOutcome(item: string | number): RetryOutcome | null {
  if (item === 'connect-failure' || item === 'timeout') return item;
  const n = typeof item === 'number' ? item : /^\d{3}$/.test(item.trim()) ? Number(item.trim()) : NaN;
  if (Number.isInteger(n) && ((n >= 500 && n <= 599) || n === 408 || n === 429)) return n;
  return null;
}
export const RETRY_ON_FORM = 'connect-failure, timeout, or a status 500–599, 408 or 429';
const retryOn = z.string().transform((value, ctx) => {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: RetryOutcome[] = [];
  for (const item of items) {
    const parsed = parseRetryOutcome(item);
    if (parsed === null) {
      ctx.addIssue({
        code: 'custom',
        message: `"${item}" is not a retry outcome; expected a comma list of ${RETRY_ON_FORM}`,
      });
    } else if (!out.includes(parsed)) out.push(parsed);
  }
  return out;
});

/**
 * Every environment variable the gateway reads, with its schema and default. The keys of
 * this object are the only names the gateway knows (see {@link ENV_VARIABLE_NAMES}).
 */
export const ENV_SCHEMA = {
  PORT: { schema: port, default: '8080' },
  HOST: { schema: nonEmpty, default: '0.0.0.0' },
  MANAGEMENT_PORT: { schema: port, default: undefined },
  GATEWAY_CONFIG: { schema: nonEmpty, default: undefined },
  UPSTREAM_URL: { schema: httpUrl, default: undefined },
  REDIS_URL: { schema: redisUrl, default: undefined },
  REDIS_CLUSTER: { schema: bool, default: 'false' },
  REDIS_KEY_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9:_.-]{0,64}$/, 'expected up to 64 characters of [A-Za-z0-9:_.-]'),
    default: 'bw:',
  },
  REDIS_COMMAND_TIMEOUT_MS: { schema: number({ int: true, min: 10, max: 60000, unit: 'ms' }), default: '250' },
  API_KEYS: { schema: apiKeys, default: undefined },
  API_KEYS_FILE: { schema: nonEmpty, default: undefined },
  ADMIN_API_KEY: { schema: secret, default: undefined },
  TRUST_PROXY: { schema: trustProxy, default: 'false' },
  TLS_CERT_FILE: { schema: nonEmpty, default: undefined },
  TLS_KEY_FILE: { schema: nonEmpty, default: undefined },
  LOG_LEVEL: { schema: logLevel, default: 'info' },
  BREAKER_FAILURE_THRESHOLD: { schema: number({ int: true, min: 1, max: 1000 }), default: '5' },
  BREAKER_RESET_TIMEOUT_MS: { schema: number({ int: true, min: 1, max: 3600000, unit: 'ms' }), default: '10000' },
  BREAKER_HALF_OPEN_MAX_REQUESTS: { schema: number({ int: true, min: 1, max: 1000 }), default: '1' },
  BREAKER_SUCCESS_THRESHOLD: { schema: number({ int: true, min: 1, max: 1000 }), default: '1' },
  RETRY_MAX_RETRIES: { schema: number({ int: true, min: 0, max: 10 }), default: '2' },
  RETRY_INITIAL_BACKOFF_MS: { schema: number({ min: 0, max: 60000, unit: 'ms' }), default: '100' },
  RETRY_BACKOFF_MULTIPLIER: { schema: number({ min: 1, max: 10 }), default: '2' },
  RETRY_MAX_BACKOFF_MS: { schema: number({ min: 0, max: 300000, unit: 'ms' }), default: '2000' },
  RETRY_BUDGET_RATIO: { schema: number({ min: 0, max: 10 }), default: '0.2' },
  RETRY_BUDGET_MIN_PER_SECOND: { schema: number({ min: 0, max: 100000 }), default: '10' },
  UPSTREAM_TIMEOUT_MS: { schema: number({ int: true, min: 1, max: 3600000, unit: 'ms' }), default: '5000' },
  UPSTREAM_TOTAL_TIMEOUT_MS: { schema: number({ int: true, min: 1, max: 3600000, unit: 'ms' }), default: '15000' },
  RETRY_ON: { schema: retryOn, default: 'connect-failure,timeout,502,503,504' },
  SHUTDOWN_DRAIN_MS: { schema: number({ int: true, min: 0, max: 3600000, unit: 'ms' }), default: '25000' },
  RATE_LIMIT_ENABLED: { schema: bool, default: 'true' },
  RATE_LIMIT_CAPACITY: { schema: number({ min: 1, max: 1e9 }), default: '100' },
  RATE_LIMIT_REFILL_PER_SECOND: { schema: number({ min: 0, max: 1e9 }), default: '10' },
  BODY_LIMIT_BYTES: { schema: number({ int: true, min: 0, max: 1e12, unit: 'bytes' }), default: '10485760' },
  CACHE_MAX_ENTRY_BYTES: { schema: number({ int: true, min: 0, max: 1e9, unit: 'bytes' }), default: '1048576' },
  CACHE_MAX_TOTAL_BYTES: { schema: number({ int: true, min: 0, max: 1e12, unit: 'bytes' }), default: '67108864' },
  SERVER_HEADERS_TIMEOUT_MS: { schema: number({ int: true, min: 100, max: 600000, unit: 'ms' }), default: '10000' },
  SERVER_REQUEST_TIMEOUT_MS: { schema: number({ int: true, min: 100, max: 3600000, unit: 'ms' }), default: '60000' },
  SERVER_KEEP_ALIVE_TIMEOUT_MS: { schema: number({ int: true, min: 100, max: 600000, unit: 'ms' }), default: '5000' },
  MAX_HEADER_BYTES: { schema: number({ int: true, min: 1024, max: 1048576, unit: 'bytes' }), default: '16384' },
  DASHBOARD_ENABLED: { schema: bool, default: 'true' },
  DASHBOARD_DRILL: { schema: bool, default: 'false' },
} as const;

export type EnvName = keyof typeof ENV_SCHEMA;

/** Every variable name `libs/config` knows (for the deployment files' cross-check). */
export const ENV_VARIABLE_NAMES: readonly EnvName[] = Object.freeze(Object.keys(ENV_SCHEMA) as EnvName[]);

export type RawEnv = { [K in EnvName]: z.output<(typeof ENV_SCHEMA)[K]['schema']> | undefined };

/** Parses every known variable; returns the values and one problem line per bad variable. */
export function parseEnvVariables(env: Readonly<Record<string, string | undefined>>): {
  values: RawEnv;
  problems: string[];
} {
  const values = {} as Record<string, unknown>;
  const problems: string[] = [];
  for (const name of ENV_VARIABLE_NAMES) {
    const spec = ENV_SCHEMA[name];
    const raw = env[name] ?? spec.default;
    if (raw === undefined) {
      values[name] = undefined;
      continue;
    }
    const result = (spec.schema as z.ZodType).safeParse(raw);
    if (result.success) values[name] = result.data;
    else for (const issue of result.error.issues) problems.push(`${name}: ${issue.message}`);
  }
  return { values: values as RawEnv, problems };
}
