import { z } from 'zod';
import { type RoutesConfig } from '@app/config';

/** What the circuit-breaker drill aims at. */
export interface DrillParams {
  readonly service: string;
  /** Path (and query) under the service that fails: the burst's target. */
  readonly failPath: string;
  /** Path under the service that answers 2xx: the trials' target. */
  readonly okPath: string;
}

/** The demo's defaults (flaky-upstream, CONTRACT §6). */
export const DRILL_DEFAULTS = { service: 'flaky', failPath: '/fail?status=503', okPath: '/ok' } as const;

const SAFE_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/;

/** A path under the service: starts with /, at most 256 characters, no dot-segments, not `//host`. */
const DrillPath = z
  .string()
  .max(256)
  .regex(SAFE_PATH)
  .refine((v) => !/(^|\/)\.\.?(\/|\?|$)/.test(v) && !v.startsWith('//'));

/** The body's shape: these three fields and no other (each field's own rules are checked below). */
const DrillBody = z.strictObject({ service: z.unknown(), failPath: z.unknown(), okPath: z.unknown() }).partial();

/**
 * Validates a drill request body against the route table (zod for the shape and the paths).
 * The service defaults to `flaky` when it exists, else to the first configured service.
 * @returns the params, or the list of problems
 */
export function parseDrillParams(body: unknown, routes: RoutesConfig): DrillParams | { problems: string[] } {
  const input = body === undefined || body === null ? {} : body;
  if (typeof input !== 'object' || Array.isArray(input)) return { problems: ['body: expected a JSON object'] };
  const problems: string[] = [];
  const shape = DrillBody.safeParse(input);
  if (!shape.success) {
    for (const issue of shape.error.issues) {
      if (issue.code === 'unrecognized_keys') for (const k of issue.keys) problems.push(`${k}: unknown field`);
    }
  }
  const o = input as Record<string, unknown>;
  const names = [...routes.services.keys()];
  let service: string;
  if (o.service === undefined) {
    service = routes.services.has(DRILL_DEFAULTS.service) ? DRILL_DEFAULTS.service : (names[0] ?? '');
    if (service === '') problems.push('service: no service is configured');
  } else if (typeof o.service !== 'string' || !routes.services.has(o.service)) {
    problems.push(`service: expected one of ${names.join(', ') || '(none configured)'}`);
    service = '';
  } else service = o.service;

  const path = (field: 'failPath' | 'okPath'): string => {
    const checked = DrillPath.safeParse(o[field] ?? DRILL_DEFAULTS[field]);
    if (!checked.success) {
      problems.push(
        `${field}: expected a path such as ${DRILL_DEFAULTS[field]} (starting with /, at most 256 characters, no dot-segments)`,
      );
      return '';
    }
    return checked.data;
  };
  const failPath = path('failPath');
  const okPath = path('okPath');
  return problems.length > 0 ? { problems } : { service, failPath, okPath };
}
