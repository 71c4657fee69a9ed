import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// A young generation of 1 MB fills after ~60k allocations of 16 bytes: if pick() allocated
// anything, 5M picks would force dozens of scavenges. A pick that allocates nothing forces none.
it.each([3, 10_000])('warm handle.pick() allocates nothing (%d instances)', (n) => {
  const script = fileURLToPath(new URL('./fixtures/pick-allocation.mjs', import.meta.url));
  const run = spawnSync(process.execPath, ['--trace-gc', '--max-semi-space-size=1', script, String(n)], { encoding: 'utf8', timeout: 30_000 });
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stdout.split('\n');
  const during = lines.slice(lines.indexOf('--start--'), lines.indexOf('--end--'));
  const collections = during.filter((l) => /Scavenge|Mark-Compact|Minor/.test(l));
  expect(lines).toContain('ok');
  expect(collections).toEqual([]);
});
