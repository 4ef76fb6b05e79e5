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

/** A rate: a finite number from 0 to 1. Returns the problem, or `undefined` when valid. */
export function checkRate(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number from 0 to 1';
  if (value < 0 || value > 1) return 'must be from 0 to 1';
  return undefined;
}

/** A delay: an integer number of ms from 0 to MAX_DELAY_MS. Returns the problem, or `undefined` when valid. */
export function checkDelayMs(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DELAY_MS) {
    return `must be an integer number of ms from 0 to ${MAX_DELAY_MS}`;
  }
  return undefined;
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

const KEYS: ReadonlySet<string> = new Set(['failureRate', 'delayRate', 'delayMs', 'down']);

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
  const errors: string[] = [];
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key)) errors.push(`${key}: unknown key; expected failureRate, delayRate, delayMs or down`);
  }
  const next: ChaosSettings = { ...current };
  if ('failureRate' in input) {
    const problem = checkRate(input.failureRate);
    if (problem) errors.push(`failureRate: ${problem}`);
    else next.failureRate = input.failureRate as number;
  }
  if ('delayRate' in input) {
    const problem = checkRate(input.delayRate);
    if (problem) errors.push(`delayRate: ${problem}`);
    else next.delayRate = input.delayRate as number;
  }
  if ('delayMs' in input) {
    const problem = checkDelayMs(input.delayMs);
    if (problem) errors.push(`delayMs: ${problem}`);
    else next.delayMs = input.delayMs as number;
  }
  if ('down' in input) {
    if (typeof input.down !== 'boolean') errors.push('down: must be true or false');
    else next.down = input.down;
  }
  if (errors.length === 0) {
    const problem = checkRateSum(next.failureRate, next.delayRate);
    if (problem) errors.push(problem);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, settings: next };
}
