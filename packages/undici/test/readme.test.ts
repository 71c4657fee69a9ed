import { runReadmeExample } from '@disco/testing';
import { expect, it } from 'vitest';

// The README example is what users copy: it must run as written (on the built package) and exit by itself.
it('the README example runs: round robin over two instances, the Host kept, ERR_NO_INSTANCES as fetch’s cause', async () => {
  const run = await runReadmeExample(new URL('../README.md', import.meta.url), 'Example', new URL('./', import.meta.url), { timeoutMs: 15_000 });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toBe(
    ['users-1 answered GET users/api/profile', 'users-2 answered GET users/api/profile', 'users-1 answered GET users/api/profile', 'no instance of orders', ''].join('\n'),
  );
});
