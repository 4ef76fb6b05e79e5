import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { type z } from 'zod';
import {
  type GatewayConfig,
  type GatewayEnv,
  type InstanceConfig,
  type RouteConfig,
  type RoutesConfig,
  type ServiceConfig,
} from './config.types.js';
import { parseEnvVariables, parseRetryOutcome, type RetryOutcome } from './env.schema.js';
import { ConfigError, formatIssues } from './problems.js';
import { normaliseMount, RoutesFileSchema, ServiceSchema } from './routes.schema.js';

export const DEFAULT_GATEWAY_CONFIG = 'config/gateway.yaml';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
    else for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function readable(path: string): string | null {
  try {
    accessSync(path, constants.R_OK);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file does not exist' : 'file is not readable';
  }
}

/**
 * Parses and validates the environment. Reports every problem, one line each.
 * @throws {ConfigError} when any variable is invalid.
 */
export function loadEnv(env: Readonly<Record<string, string | undefined>> = process.env): GatewayEnv {
  const { values: v, problems } = parseEnvVariables(env);
  if (v.TLS_CERT_FILE && !v.TLS_KEY_FILE) problems.push('TLS_KEY_FILE: is required when TLS_CERT_FILE is set');
  if (v.TLS_KEY_FILE && !v.TLS_CERT_FILE) problems.push('TLS_CERT_FILE: is required when TLS_KEY_FILE is set');
  for (const name of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'API_KEYS_FILE'] as const) {
    const path = v[name];
    const why = path ? readable(path) : null;
    if (path && why) problems.push(`${name}: "${path}": ${why}; expected a readable file`);
  }
  if (v.MANAGEMENT_PORT !== undefined && v.MANAGEMENT_PORT === v.PORT) {
    problems.push(`MANAGEMENT_PORT: ${v.MANAGEMENT_PORT} is the same as PORT; expected another port, or unset it`);
  }
  if (v.REDIS_CLUSTER && !v.REDIS_URL)
    problems.push('REDIS_CLUSTER: is true but REDIS_URL is not set; expected seed nodes in REDIS_URL');
  if (
    v.UPSTREAM_TIMEOUT_MS !== undefined &&
    v.UPSTREAM_TOTAL_TIMEOUT_MS !== undefined &&
    v.UPSTREAM_TOTAL_TIMEOUT_MS < v.UPSTREAM_TIMEOUT_MS
  ) {
    problems.push(
      `UPSTREAM_TOTAL_TIMEOUT_MS: ${v.UPSTREAM_TOTAL_TIMEOUT_MS} is below UPSTREAM_TIMEOUT_MS (${v.UPSTREAM_TIMEOUT_MS}); expected ≥ it`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const cfg: GatewayEnv = {
    port: v.PORT!,
    host: v.HOST!,
    managementPort: v.MANAGEMENT_PORT ?? null,
    gatewayConfig: { path: v.GATEWAY_CONFIG ?? DEFAULT_GATEWAY_CONFIG, explicit: v.GATEWAY_CONFIG !== undefined },
    upstreamUrl: v.UPSTREAM_URL ?? null,
    redis: {
      url: v.REDIS_URL ?? null,
      cluster: v.REDIS_CLUSTER!,
      keyPrefix: v.REDIS_KEY_PREFIX!,
      commandTimeoutMs: v.REDIS_COMMAND_TIMEOUT_MS!,
    },
    apiKeys: { inline: v.API_KEYS ?? [], file: v.API_KEYS_FILE ?? null },
    adminApiKey: v.ADMIN_API_KEY ?? null,
    trustProxy: v.TRUST_PROXY!,
    tls: v.TLS_CERT_FILE && v.TLS_KEY_FILE ? { certFile: v.TLS_CERT_FILE, keyFile: v.TLS_KEY_FILE } : null,
    logLevel: v.LOG_LEVEL!,
    defaults: {
      timeoutMs: v.UPSTREAM_TIMEOUT_MS!,
      totalTimeoutMs: v.UPSTREAM_TOTAL_TIMEOUT_MS!,
      retry: {
        maxRetries: v.RETRY_MAX_RETRIES!,
        initialBackoffMs: v.RETRY_INITIAL_BACKOFF_MS!,
        multiplier: v.RETRY_BACKOFF_MULTIPLIER!,
        maxBackoffMs: v.RETRY_MAX_BACKOFF_MS!,
        retryOn: v.RETRY_ON!,
        budget: { ratio: v.RETRY_BUDGET_RATIO!, minPerSecond: v.RETRY_BUDGET_MIN_PER_SECOND! },
      },
      circuitBreaker: {
        failureThreshold: v.BREAKER_FAILURE_THRESHOLD!,
        resetTimeoutMs: v.BREAKER_RESET_TIMEOUT_MS!,
        halfOpenMaxRequests: v.BREAKER_HALF_OPEN_MAX_REQUESTS!,
        successThreshold: v.BREAKER_SUCCESS_THRESHOLD!,
      },
      rateLimit: { capacity: v.RATE_LIMIT_CAPACITY!, refillPerSecond: v.RATE_LIMIT_REFILL_PER_SECOND! },
    },
    rateLimitEnabled: v.RATE_LIMIT_ENABLED!,
    shutdownDrainMs: v.SHUTDOWN_DRAIN_MS!,
    bodyLimitBytes: v.BODY_LIMIT_BYTES!,
    server: {
      headersTimeoutMs: v.SERVER_HEADERS_TIMEOUT_MS!,
      requestTimeoutMs: v.SERVER_REQUEST_TIMEOUT_MS!,
      keepAliveTimeoutMs: v.SERVER_KEEP_ALIVE_TIMEOUT_MS!,
      maxHeaderBytes: v.MAX_HEADER_BYTES!,
    },
    cache: { maxEntryBytes: v.CACHE_MAX_ENTRY_BYTES!, maxTotalBytes: v.CACHE_MAX_TOTAL_BYTES! },
    dashboard: { enabled: v.DASHBOARD_ENABLED!, drill: v.DASHBOARD_DRILL! },
  };
  return deepFreeze(cfg);
}

type ServiceInput = z.output<typeof ServiceSchema>;

function resolveInstance(service: string, url: string): InstanceConfig {
  const u = new URL(url);
  const defaultPort = u.protocol === 'https:' ? '443' : '80';
  const hostPort = `${u.hostname}:${u.port || defaultPort}`;
  return {
    id: `${service}/${hostPort}`,
    service,
    origin: u.origin,
    basePath: u.pathname.replace(/\/+$/, ''),
    hostPort,
  };
}

function resolveService(name: string, input: ServiceInput, env: GatewayEnv): ServiceConfig {
  const d = env.defaults;
  const keysConfigured = env.apiKeys.inline.length > 0 || env.apiKeys.file !== null;
  const seen = new Set<string>();
  const instances = input.instances
    .map((url) => resolveInstance(name, url))
    .filter((inst) => (seen.has(inst.id) ? false : (seen.add(inst.id), true)));
  const retryOn: RetryOutcome[] = input.retry?.retryOn
    ? [...new Set(input.retry.retryOn.map((r) => parseRetryOutcome(r)!))]
    : [...d.retry.retryOn];
  return {
    name,
    instances,
    timeoutMs: input.timeoutMs ?? d.timeoutMs,
    totalTimeoutMs: input.totalTimeoutMs ?? Math.max(d.totalTimeoutMs, input.timeoutMs ?? 0),
    retry: {
      maxRetries: input.retry?.maxRetries ?? d.retry.maxRetries,
      initialBackoffMs: input.retry?.initialBackoffMs ?? d.retry.initialBackoffMs,
      multiplier: input.retry?.multiplier ?? d.retry.multiplier,
      maxBackoffMs: input.retry?.maxBackoffMs ?? d.retry.maxBackoffMs,
      retryOn,
      budget: {
        ratio: input.retry?.budget?.ratio ?? d.retry.budget.ratio,
        minPerSecond: input.retry?.budget?.minPerSecond ?? d.retry.budget.minPerSecond,
      },
    },
    circuitBreaker: { ...d.circuitBreaker, ...stripUndefined(input.circuitBreaker) },
    rateLimit:
      !env.rateLimitEnabled || input.rateLimit === false
        ? null
        : { ...d.rateLimit, ...stripUndefined(input.rateLimit) },
    cache:
      input.cache === undefined || input.cache === false
        ? null
        : {
            ttlSeconds: input.cache.ttlSeconds ?? 0,
            staleIfErrorSeconds: input.cache.staleIfErrorSeconds ?? 0,
            shareAcrossConsumers: input.cache.shareAcrossConsumers ?? false,
          },
    auth: input.auth ?? (keysConfigured ? 'required' : 'none'),
  };
}

function stripUndefined<T extends object>(obj: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!obj) return out;
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * Validates routes-file text against the schema and resolves every policy from the env defaults.
 * @throws {ConfigError} listing every problem by its YAML path.
 */
export function parseRoutes(text: string | null, env: GatewayEnv, source: string | null): RoutesConfig {
  let data: unknown = {};
  if (text !== null) {
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(doc.errors.map((e) => `${source ?? 'routes file'}: YAML: ${e.message.split('\n')[0]}`));
    }
    try {
      data = doc.toJS() ?? {};
    } catch (err) {
      // e.g. an alias to an anchor that does not exist (`*x`)
      throw new ConfigError([`${source ?? 'routes file'}: YAML: ${(err as Error).message.split('\n')[0]}`]);
    }
  }
  // reportInput: messages say what was found (`got number 42`); the routes file holds no secrets.
  const parsed = RoutesFileSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  const file = parsed.data;
  const problems: string[] = [];

  const services = new Map<string, ServiceConfig>();
  for (const [name, svc] of Object.entries(file.services ?? {})) {
    const resolved = resolveService(name, svc, env);
    if (resolved.totalTimeoutMs < resolved.timeoutMs) {
      problems.push(
        `services.${name}.totalTimeoutMs: ${resolved.totalTimeoutMs} is below timeoutMs (${resolved.timeoutMs}); expected ≥ it`,
      );
    }
    if (resolved.retry.maxBackoffMs < resolved.retry.initialBackoffMs) {
      problems.push(`services.${name}.retry.maxBackoffMs: is below initialBackoffMs; expected ≥ it`);
    }
    services.set(name, resolved);
  }
  const routes: RouteConfig[] = (file.routes ?? []).map((r) => ({
    path: normaliseMount(r.path),
    service: r.service,
    rewrite:
      r.rewrite === undefined
        ? normaliseMount(r.path)
        : normaliseMount(r.rewrite) === '/'
          ? ''
          : normaliseMount(r.rewrite),
  }));

  if (env.upstreamUrl) {
    if (services.has('default')) {
      problems.push('services.default: is also defined by UPSTREAM_URL; remove one of them');
    } else {
      services.set('default', resolveService('default', { instances: [env.upstreamUrl] }, env));
    }
    routes.push({ path: '/proxy', service: 'default', rewrite: '' });
  }
  routes.forEach((r, i) => {
    if (!services.has(r.service)) problems.push(`routes[${i}].service: no service named "${r.service}"`);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  routes.sort((a, b) => b.path.length - a.path.length);

  return deepFreeze({
    services,
    routes,
    source,
    version: createHash('sha256')
      .update(text ?? '')
      .update(env.upstreamUrl ?? '')
      .digest('hex')
      .slice(0, 12),
  });
}

/**
 * Reads and validates the routes file named by the environment. A default path that does
 * not exist means "no services but UPSTREAM_URL's"; an explicit one that does not exist is an error.
 * @throws {ConfigError}
 */
export function loadRoutes(env: GatewayEnv): RoutesConfig {
  const { path, explicit } = env.gatewayConfig;
  let text: string | null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) text = null;
    else
      throw new ConfigError([
        `GATEWAY_CONFIG: "${path}": ${code === 'ENOENT' ? 'file does not exist' : `cannot be read (${code})`}`,
      ]);
  }
  return parseRoutes(text, env, text === null ? null : path);
}

/** Env + routes file, the whole configuration at start-up. @throws {ConfigError} */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  const gatewayEnv = loadEnv(env);
  return { env: gatewayEnv, routes: loadRoutes(gatewayEnv) };
}

/** Reads `name:sha256hex` lines (API_KEYS_FILE). Blank lines and `#` comments are skipped. */
export function parseApiKeysFile(text: string, source: string): { name: string; sha256: string }[] {
  const out: { name: string; sha256: string }[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63}):([0-9a-fA-F]{64})$/.exec(line);
    if (!m) problems.push(`${source}:${i + 1}: expected name:sha256hex (line not shown)`);
    else if (seen.has(m[1]!)) problems.push(`${source}:${i + 1}: key name "${m[1]}" appears twice`);
    else {
      seen.add(m[1]!);
      out.push({ name: m[1]!, sha256: m[2]!.toLowerCase() });
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
