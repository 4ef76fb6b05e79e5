import { RetryBudget } from './retry-budget.js';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Withdraws until refused (bounded); returns how many were granted. */
function drain(budget: RetryBudget, max = 100_000): number {
  let n = 0;
  while (n < max && budget.tryWithdraw()) n++;
  return n;
}

describe('RetryBudget', () => {
  it('caps retries at ratio × requests + minPerSecond × 10 when every request fails', () => {
    const clock = fakeClock();
    const budget = new RetryBudget(0.2, 1, 10, clock.now);
    let granted = 0;
    // 100 requests over 5 s, each failing and asking for a retry.
    for (let i = 0; i < 100; i++) {
      budget.deposit();
      if (budget.tryWithdraw()) granted++;
      clock.advance(50);
    }
    expect(granted).toBe(0.2 * 100 + 1 * 10);
    // Every further ask in the same window is refused until new requests come in.
    expect(budget.tryWithdraw()).toBe(false);
    for (let i = 0; i < 5; i++) budget.deposit();
    expect(drain(budget)).toBe(1); // 5 more requests × 0.2
  });

  it('gives a quiet service every retry (the floor)', () => {
    const clock = fakeClock();
    const budget = new RetryBudget(0.2, 10, 10, clock.now);
    // 3 requests, each retried twice: 6 retries, far under 0.2 × 3 + 100.
    for (let i = 0; i < 3; i++) {
      budget.deposit();
      expect(budget.tryWithdraw()).toBe(true);
      expect(budget.tryWithdraw()).toBe(true);
      clock.advance(300);
    }
    expect(drain(budget)).toBe(100 - 6);
  });

  it('with no floor, grants only the ratio (rounded down)', () => {
    const clock = fakeClock();
    const budget = new RetryBudget(0.5, 0, 10, clock.now);
    for (let i = 0; i < 7; i++) budget.deposit();
    expect(drain(budget)).toBe(3);
  });

  it('slides: retries spent more than 10 s ago no longer count', () => {
    const clock = fakeClock(5_000_000); // on a second boundary
    const budget = new RetryBudget(0, 1, 10, clock.now);
    expect(drain(budget)).toBe(10);
    clock.advance(9_999);
    expect(budget.tryWithdraw()).toBe(false); // still the same 10 s window
    clock.advance(1);
    expect(drain(budget)).toBe(10); // the first second's retries dropped out
  });

  it('slides per second: part of the window frees part of the budget', () => {
    const clock = fakeClock(7_000_000);
    const budget = new RetryBudget(0, 1, 10, clock.now);
    expect(drain(budget, 4)).toBe(4); // second 0
    clock.advance(3_000);
    expect(drain(budget)).toBe(6); // second 3: 4 + 6 = 10
    clock.advance(7_000); // second 10: second 0's four fall out
    expect(drain(budget)).toBe(4);
  });

  it('forgets requests that left the window', () => {
    const clock = fakeClock(9_000_000);
    const budget = new RetryBudget(1, 0, 10, clock.now);
    for (let i = 0; i < 50; i++) budget.deposit();
    clock.advance(10_000);
    expect(budget.tryWithdraw()).toBe(false);
    budget.deposit();
    expect(drain(budget)).toBe(1);
  });

  it('survives a long idle gap (more than a whole window at once)', () => {
    const clock = fakeClock(3_000_000);
    const budget = new RetryBudget(0, 1, 10, clock.now);
    expect(drain(budget)).toBe(10);
    clock.advance(3_600_000);
    expect(drain(budget)).toBe(10);
  });

  it('applies a reloaded policy to the same window', () => {
    const clock = fakeClock();
    const budget = new RetryBudget(0, 1, 10, clock.now);
    expect(drain(budget)).toBe(10);
    budget.update(0, 2);
    expect(drain(budget)).toBe(10);
  });
});
