import { z } from 'zod';
import { parseRetryOutcome, RETRY_ON_FORM } from './env.schema.js';

/* The routes file (GATEWAY_CONFIG), as written by users. Every object is strict: an unknown
 * key is an error, so a typo never passes silently. Policies are optional here; the loader
 * fills them from the environment defaults. */

export const SERVICE_NAME = /^[a-z0-9-]+$/;

/** Paths the gateway serves itself; routes may not be mounted under them. */
export const RESERVED_PREFIXES = ['/health', '/metrics', '/dashboard', '/admin', '/v1/proxy', '/proxy'] as const;

const nonNegInt = z.number().int().min(0);
const posInt = z.number().int().min(1);

const instanceUrl = z.string().superRefine((value, ctx) => {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL; expected http(s)://host:port[/base-path]` });
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `"${value}" must use http or https` });
  } else if (u.username || u.password || u.search || u.hash) {
    ctx.addIssue({ code: 'custom', message: `"${value}" may not carry credentials, a query or a fragment` });
  }
});

const retryOnItem = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  if (parseRetryOutcome(value) === null) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(value)} is not a retry outcome; expected ${RETRY_ON_FORM}`,
    });
  }
});

const mountPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'must start with / and contain only URL path characters')
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'may not contain . or .. segments');

export const RetrySchema = z.strictObject({
  maxRetries: nonNegInt.max(10).optional(),
  initialBackoffMs: z.number().min(0).max(60000).optional(),
  multiplier: z.number().min(1).max(10).optional(),
  maxBackoffMs: z.number().min(0).max(300000).optional(),
  retryOn: z.array(retryOnItem).optional(),
  budget: z
    .strictObject({
      ratio: z.number().min(0).max(10).optional(),
      minPerSecond: z.number().min(0).max(100000).optional(),
    })
    .optional(),
});

export const BreakerSchema = z.strictObject({
  failureThreshold: posInt.max(1000).optional(),
  resetTimeoutMs: posInt.max(3600000).optional(),
  halfOpenMaxRequests: posInt.max(1000).optional(),
  successThreshold: posInt.max(1000).optional(),
});

export const RateLimitSchema = z.union([
  z.literal(false),
  z.strictObject({
    capacity: z.number().min(1).max(1e9).optional(),
    refillPerSecond: z.number().min(0).max(1e9).optional(),
  }),
]);

export const CacheSchema = z.strictObject({
  ttlSeconds: z.number().min(0).max(31536000).optional(),
  staleIfErrorSeconds: z.number().min(0).max(31536000).optional(),
  shareAcrossConsumers: z.boolean().optional(),
});

export const ServiceSchema = z.strictObject({
  instances: z.array(instanceUrl).min(1),
  timeoutMs: posInt.max(3600000).optional(),
  totalTimeoutMs: posInt.max(3600000).optional(),
  retry: RetrySchema.optional(),
  circuitBreaker: BreakerSchema.optional(),
  rateLimit: RateLimitSchema.optional(),
  cache: z.union([CacheSchema, z.literal(false)]).optional(),
  auth: z.enum(['required', 'none']).optional(),
});

export const RouteSchema = z.strictObject({
  path: mountPath,
  service: z.string(),
  rewrite: mountPath.optional(),
});

export const RoutesFileSchema = z
  .strictObject({
    services: z.record(z.string(), ServiceSchema).optional(),
    routes: z.array(RouteSchema).optional(),
  })
  // `when`: these cross-checks run even when a field elsewhere is invalid, so a file's problems are
  // all listed at once; the input may then be raw, hence the defensive reads.
  .superRefine(
    (file, ctx) => {
      if (!isMapping(file)) return;
      const services = isMapping(file.services) ? file.services : {};
      for (const name of Object.keys(services)) {
        if (!SERVICE_NAME.test(name)) {
          ctx.addIssue({ code: 'custom', path: ['services', name], message: 'service names use only [a-z0-9-]' });
        }
      }
      const seen = new Set<string>();
      (Array.isArray(file.routes) ? (file.routes as unknown[]) : []).forEach((route, i) => {
        if (!isMapping(route)) return;
        if (
          typeof route.service === 'string' &&
          !Object.hasOwn(services, route.service) &&
          route.service !== 'default'
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'service'],
            message: `no service named "${route.service}"`,
          });
        }
        if (typeof route.path !== 'string') return;
        const p = normaliseMount(route.path);
        // Case-insensitive, as the gateway's own controllers match (Express routing).
        const lp = p.toLowerCase();
        const clash = RESERVED_PREFIXES.find(
          (r) => lp === r || lp.startsWith(`${r}/`) || r.startsWith(`${lp}/`) || p === '/',
        );
        if (clash) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'path'],
            message: `"${route.path}" overlaps the gateway's own prefix ${clash}`,
          });
        }
        if (seen.has(p))
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'path'], message: `"${route.path}" is mounted twice` });
        seen.add(p);
      });
    },
    { when: () => true },
  );

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type RoutesFile = z.output<typeof RoutesFileSchema>;

/** `/api/v1/data/` → `/api/v1/data` (the root stays `/`). */
export function normaliseMount(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}
