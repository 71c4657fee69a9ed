import { runReadmeExample } from '@disco/testing';
import { expect, it } from 'vitest';

// The README example is code users copy: it must run as written (against the built packages) and exit by itself.
it('the README example runs and lists the call metrics in seconds', async () => {
  const run = await runReadmeExample(new URL('../README.md', import.meta.url), 'Example', new URL('./', import.meta.url), { timeoutMs: 15_000 });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^disco\.call\.active \{call\}$/m);
  expect(run.stdout).toMatch(/^disco\.call\.duration s$/m);
  expect(run.stdout).toMatch(/^disco\.instances \{instance\}$/m);
});
