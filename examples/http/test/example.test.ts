import { fileURLToPath } from 'node:url';
import { runScript } from '@disco/testing';
import { expect, it } from 'vitest';

it('the HTTP example loses no request when a service is SIGKILLed mid-run, and exits 0 by itself', async () => {
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const run = await runScript(main, { timeoutMs: 30_000 });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines.filter((l) => /^registered greeter-(alpha|bravo|charlie) at 127\.0\.0\.1:\d+$/.test(l))).toHaveLength(3);
  expect(lines).toContain('killed bravo (SIGKILL) after 300 requests');
  expect(run.stdout).not.toContain('request failed');
  expect(run.stdout).toMatch(/^900 requests: 900 answered, 0 failed, \d+ retried on another instance$/m);
  const [, alpha, bravo, charlie] = /^answers: alpha ×(\d+), bravo ×(\d+), charlie ×(\d+)$/m.exec(run.stdout)!.map(Number);
  expect(alpha! + bravo! + charlie!).toBe(900);
  expect(bravo).toBeGreaterThan(50);
  expect(bravo).toBeLessThan(300);
  expect(lines).toContain('health agent took bravo out; pools open to: alpha, charlie');
  expect(lines.at(-1)).toBe('closed; exiting');
});
