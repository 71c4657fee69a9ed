import { runReadmeExample } from '@disco/testing';
import { expect, it } from 'vitest';

// The README example is code users copy: it must run as written and exit by itself.
it('the README example runs: configured composition stays in its zone, the hash is sticky, and it exits by itself', async () => {
  const run = await runReadmeExample(new URL('../README.md', import.meta.url), 'Example', new URL('./', import.meta.url), { timeoutMs: 15_000 });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^api-[13] in eu-west-1a answered ok\nuser-42 goes to (api-\d), and again to \1\n$/);
});
