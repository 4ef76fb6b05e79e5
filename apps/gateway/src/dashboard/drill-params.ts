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

/**
 * Validates a drill request body against the route table. The service defaults to `flaky`
 * when it exists, else to the first configured service.
 * @returns the params, or the list of problems
 */
export function parseDrillParams(body: unknown, routes: RoutesConfig): DrillParams | { problems: string[] } {
  const problems: string[] = [];
  const input = body === undefined || body === null ? {} : body;
  if (typeof input !== 'object' || Array.isArray(input)) return { problems: ['body: expected a JSON object'] };
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['service', 'failPath', 'okPath'].includes(k)) problems.push(`${k}: unknown field`);

  let service: string;
  if (o.service === undefined) {
    service = routes.services.has(DRILL_DEFAULTS.service)
      ? DRILL_DEFAULTS.service
      : ([...routes.services.keys()][0] ?? '');
    if (service === '') problems.push('service: no service is configured');
  } else if (typeof o.service !== 'string' || !routes.services.has(o.service)) {
    problems.push(`service: expected one of ${[...routes.services.keys()].join(', ') || '(none configured)'}`);
    service = '';
  } else service = o.service;

  const path = (field: 'failPath' | 'okPath'): string => {
    const v = o[field] ?? DRILL_DEFAULTS[field];
    if (
      typeof v !== 'string' ||
      v.length > 256 ||
      !SAFE_PATH.test(v) ||
      /(^|\/)\.\.?(\/|\?|$)/.test(v) ||
      v.startsWith('//')
    ) {
      problems.push(
        `${field}: expected a path such as ${DRILL_DEFAULTS[field]} (starting with /, at most 256 characters, no dot-segments)`,
      );
      return '';
    }
    return v;
  };
  const failPath = path('failPath');
  const okPath = path('okPath');
  return problems.length > 0 ? { problems } : { service, failPath, okPath };
}
