import { fileURLToPath } from 'node:url';
import { runScript } from '@disco/testing';
import { expect, it } from 'vitest';

it('the gRPC example resolves, calls over discovery:///, follows a NOT_SERVING server out, and exits 0 by itself', async () => {
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const run = await runScript(main, { timeoutMs: 15_000 });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines.filter((l) => /^registered greeter-(alpha|bravo|charlie) at 127\.0\.0\.1:\d+$/.test(l))).toHaveLength(3);
  expect(run.stdout).toMatch(/resolve\(\) gave 127\.0\.0\.1:\d+: hello direct caller, from (alpha|bravo|charlie)\n/);
  const [before, after] = lines.filter((l) => l.startsWith('30 calls on discovery:///greeter went to: '));
  expect(before).toMatch(/alpha ×\d+, bravo ×\d+, charlie ×\d+$/);
  expect(lines).toContain('watch: alpha, charlie');
  expect(after).toMatch(/went to: alpha ×\d+, charlie ×\d+$/);
  expect(lines.at(-1)).toBe('closed; exiting');
});
