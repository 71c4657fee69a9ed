import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { RetryBudget } from '../src/retry-budget.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const withdrawals = (budget: RetryBudget, tries: number) => Array.from({ length: tries }, () => budget.tryWithdraw()).filter(Boolean).length;

it('allows ratio × requests retries in the window, plus minPerSecond × window seconds', () => {
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 });
  expect(withdrawals(budget, 20)).toBe(10); // the floor alone: 1/s over 10 s
  for (let i = 0; i < 50; i++) budget.deposit();
  expect(withdrawals(budget, 20)).toBe(10); // 0.2 × 50 more
  budget.stop();
});

it('forgets requests and retries once they leave the window, a tenth at a time', () => {
  const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1000 });
  for (let i = 0; i < 10; i++) budget.deposit();
  vi.advanceTimersByTime(500);
  for (let i = 0; i < 10; i++) budget.deposit();
  expect(withdrawals(budget, 20)).toBe(10);
  // The first ten requests leave the window; the ten retries (taken in its second half) stay.
  vi.advanceTimersByTime(600);
  expect(withdrawals(budget, 5)).toBe(0);
  // Then the second half leaves, its requests and its retries: nothing is left to earn a retry
  // until new requests come.
  vi.advanceTimersByTime(400);
  expect(withdrawals(budget, 20)).toBe(0);
  for (let i = 0; i < 10; i++) budget.deposit();
  expect(withdrawals(budget, 20)).toBe(5);
  budget.stop();
});
