import { fileURLToPath } from 'node:url';
import { runScript } from '@disco/testing';
import { expect, it } from 'vitest';

it('the demo runs start to finish, reads well, and exits 0 within 15 s', async () => {
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const started = performance.now();
  const run = await runScript(main, { timeoutMs: 15_000 });
  const seconds = (performance.now() - started) / 1000;
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const out = run.stdout;
  expect(out).toMatch(/watch: 3 healthy instance\(s\): alpha, bravo, charlie/);
  expect(out).toMatch(/9 requests went to: (alpha|bravo|charlie) ×3, (alpha|bravo|charlie) ×3, (alpha|bravo|charlie) ×3/);
  expect(out).toMatch(/watch: 2 healthy instance\(s\): alpha, charlie/);
  expect(out).toMatch(/6 requests went to: (alpha|charlie) ×3, (alpha|charlie) ×3\n/);
  expect(out).not.toMatch(/6 requests went to:.*bravo/);
  expect(out).toMatch(/drained; registered now: 0/);
  expect(out.trim().split('\n').at(-1)).toMatch(/exit 0$/);
  expect(seconds).toBeLessThan(15);
});
