import { applyChaosUpdate, type ChaosSettings, decideOutcome, DEFAULT_CHAOS, MAX_DELAY_MS } from './chaos.js';

const problemsOf = (body: unknown, current: ChaosSettings = DEFAULT_CHAOS): string[] => {
  const result = applyChaosUpdate(body, current);
  return result.ok ? [] : result.errors;
};

describe('applyChaosUpdate', () => {
  it('applies any subset over the current settings', () => {
    expect(applyChaosUpdate({ failureRate: 1, delayRate: 0 }, DEFAULT_CHAOS)).toEqual({
      ok: true,
      settings: { failureRate: 1, delayRate: 0, delayMs: 3000, down: false },
    });
    expect(applyChaosUpdate({ down: true }, DEFAULT_CHAOS)).toEqual({
      ok: true,
      settings: { ...DEFAULT_CHAOS, down: true },
    });
    expect(applyChaosUpdate({}, DEFAULT_CHAOS)).toEqual({ ok: true, settings: DEFAULT_CHAOS });
  });

  it('accepts the bounds', () => {
    expect(applyChaosUpdate({ failureRate: 0, delayRate: 1, delayMs: MAX_DELAY_MS }, DEFAULT_CHAOS).ok).toBe(true);
    expect(applyChaosUpdate({ failureRate: 0.7, delayRate: 0.3, delayMs: 0 }, DEFAULT_CHAOS).ok).toBe(true);
  });

  it.each([
    [null, /JSON object/],
    [[1], /JSON object/],
    ['down', /JSON object/],
    [{ failureRate: '0.5' }, /^failureRate: must be a number/],
    [{ failureRate: -0.1 }, /^failureRate: must be from 0 to 1/],
    [{ delayRate: 1.5 }, /^delayRate: must be from 0 to 1/],
    [{ delayRate: null }, /^delayRate: must be a number/],
    [{ delayMs: 1.5 }, /^delayMs: must be an integer/],
    [{ delayMs: -1 }, /^delayMs: must be an integer/],
    [{ delayMs: MAX_DELAY_MS + 1 }, /^delayMs: must be an integer/],
    [{ down: 'true' }, /^down: must be true or false/],
    [{ failureRat: 0.5 }, /^failureRat: unknown key/],
    [{ failureRate: 0.6, delayRate: 0.5 }, /failureRate \+ delayRate must be at most 1/],
  ])('refuses %j', (body, message) => {
    const problems = problemsOf(body);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('checks the rate sum against the merged settings', () => {
    // The current delayRate (0.2) plus a new failureRate of 0.9 is over 1.
    expect(problemsOf({ failureRate: 0.9 })).toEqual([expect.stringMatching(/at most 1/)]);
  });

  it('lists every problem and applies nothing when one is wrong', () => {
    const result = applyChaosUpdate({ failureRate: 2, delayMs: 'x', extra: 1, down: true }, DEFAULT_CHAOS);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toHaveLength(3);
  });
});

describe('decideOutcome', () => {
  const settings: ChaosSettings = { failureRate: 0.2, delayRate: 0.3, delayMs: 10, down: false };

  it.each([
    [0, 'fail'],
    [0.1999, 'fail'],
    [0.2, 'delay'],
    [0.4999, 'delay'],
    [0.5, 'ok'],
    [0.9999, 'ok'],
  ])('draw %d → %s', (r, outcome) => {
    expect(decideOutcome(r, settings)).toBe(outcome);
  });

  it('never fails or delays at rate 0, always fails at rate 1', () => {
    const none = { ...settings, failureRate: 0, delayRate: 0 };
    expect(decideOutcome(0, none)).toBe('ok');
    expect(decideOutcome(0.99, { ...settings, failureRate: 1, delayRate: 0 })).toBe('fail');
  });
});
