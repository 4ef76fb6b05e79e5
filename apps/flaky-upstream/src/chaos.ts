import { z } from 'zod';

/** Run-time behaviour of a flaky-upstream instance, changed with `PUT /__chaos`. */
export interface ChaosSettings {
  /** Share of `/flaky-data` requests answered 503, 0..1. */
  failureRate: number;
  /** Share of `/flaky-data` requests answered 200 after `delayMs`, 0..1 (`failureRate + delayRate ≤ 1`). */
  delayRate: number;
  /** Delay of the delayed `/flaky-data` answers, in ms, 0..MAX_DELAY_MS. */
  delayMs: number;
  /** `true`: every endpoint but `/__chaos` answers 503. */
  down: boolean;
}

/** Upper bound of every delay the server accepts (`delayMs`, `/slow?ms=`): 2 minutes. */
export const MAX_DELAY_MS = 120_000;

/** CONTRACT §6 defaults: ~60 % ok, ~20 % 503, ~20 % delayed by 3 s. */
export const DEFAULT_CHAOS: Readonly<ChaosSettings> = Object.freeze({
  failureRate: 0.2,
  delayRate: 0.2,
  delayMs: 3000,
  down: false,
});

/** What one `/flaky-data` request does. */
export type FlakyOutcome = 'fail' | 'delay' | 'ok';

/** The outcome of one draw `r` in [0, 1): `r < failureRate` fails, the next `delayRate` band is delayed. */
export function decideOutcome(r: number, settings: ChaosSettings): FlakyOutcome {
  if (r < settings.failureRate) return 'fail';
  if (r < settings.failureRate + settings.delayRate) return 'delay';
  return 'ok';
}

const RATE_TYPE = 'must be a number from 0 to 1';
const DELAY_FORM = `must be an integer number of ms from 0 to ${MAX_DELAY_MS}`;

/** The schemas of the settings (zod, as everywhere in the project); each problem has one message. */
const Rate = z.number({ error: RATE_TYPE }).min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1');
const DelayMs = z.number({ error: DELAY_FORM }).int(DELAY_FORM).min(0, DELAY_FORM).max(MAX_DELAY_MS, DELAY_FORM);
const ChaosBody = z.strictObject({
  failureRate: Rate.optional(),
  delayRate: Rate.optional(),
  delayMs: DelayMs.optional(),
  down: z.boolean({ error: 'must be true or false' }).optional(),
});

function firstMessage(result: z.ZodSafeParseResult<unknown>): string | undefined {
  return result.success ? undefined : result.error.issues[0]!.message;
}

/** A rate: a finite number from 0 to 1. Returns the problem, or `undefined` when valid. */
export function checkRate(value: unknown): string | undefined {
  return firstMessage(Rate.safeParse(value));
}

/** A delay: an integer number of ms from 0 to MAX_DELAY_MS. Returns the problem, or `undefined` when valid. */
export function checkDelayMs(value: unknown): string | undefined {
  return firstMessage(DelayMs.safeParse(value));
}

// Float sums such as 0.7 + 0.3 must not be refused for rounding.
const SUM_TOLERANCE = 1e-9;

/** The cross-field rule: `failureRate + delayRate ≤ 1`. Returns the problem, or `undefined`. */
export function checkRateSum(failureRate: number, delayRate: number): string | undefined {
  return failureRate + delayRate > 1 + SUM_TOLERANCE
    ? `failureRate + delayRate must be at most 1 (got ${failureRate} + ${delayRate})`
    : undefined;
}

/** The result of validating a `PUT /__chaos` body. */
export type ChaosUpdate = { ok: true; settings: ChaosSettings } | { ok: false; errors: string[] };

/**
 * Validates a `PUT /__chaos` body (any subset of the settings) and merges it over `current`.
 * Unknown keys, wrong types, out-of-range values and a rate sum over 1 are refused, each as one message;
 * nothing is applied unless everything is valid.
 *
 * @example
 * applyChaosUpdate({ failureRate: 1, delayRate: 0 }, DEFAULT_CHAOS) // { ok: true, settings: {...} }
 * applyChaosUpdate({ failureRate: '1' }, DEFAULT_CHAOS)            // { ok: false, errors: ['failureRate: ...'] }
 */
export function applyChaosUpdate(body: unknown, current: Readonly<ChaosSettings>): ChaosUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: ['body must be a JSON object with any of failureRate, delayRate, delayMs, down'] };
  }
  const parsed = ChaosBody.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => `${key}: unknown key; expected failureRate, delayRate, delayMs or down`)
        : [`${issue.path.join('.')}: ${issue.message}`],
    );
    return { ok: false, errors };
  }
  const next: ChaosSettings = { ...current };
  for (const [key, value] of Object.entries(parsed.data)) {
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  const problem = checkRateSum(next.failureRate, next.delayRate);
  return problem ? { ok: false, errors: [problem] } : { ok: true, settings: next };
}
