import { settleWithin } from '@disco/core/provider';
import { describe, expect, it } from 'vitest';

describe('settleWithin', () => {
  it('returns when the promise settles, either way, without waiting out the bound', async () => {
    const started = performance.now();
    await settleWithin(Promise.resolve('done'), 5_000);
    await settleWithin(Promise.reject(new Error('refused')), 5_000);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('returns after the bound for a promise that never settles', async () => {
    const started = performance.now();
    await settleWithin(new Promise(() => {}), 50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });
});
