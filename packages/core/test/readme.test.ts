import { runReadmeExample } from '@disco/testing';
import { expect, it } from 'vitest';

// READMEs are code users copy: their examples must run as written and exit by themselves.
const fixtures = new URL('./fixtures/', import.meta.url);

it('the README example runs and exits by itself', async () => {
  const run = await runReadmeExample(new URL('../README.md', import.meta.url), 'Example', fixtures, { timeoutMs: 10_000 });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("[ '127.0.0.1:8081', '127.0.0.1:8082' ]");
});

it("the root README's 'Using core' example runs and exits by itself", async () => {
  const env = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('DISCOVERY_')).map((k) => [k, undefined]));
  const run = await runReadmeExample(new URL('../../../README.md', import.meta.url), 'Using core', fixtures, { timeoutMs: 10_000, env });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^calling 127\.0\.0\.1:808[12]\n2 instances\n$/);
});
