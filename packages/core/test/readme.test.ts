import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// The README's example is code users copy: it must run as written.
it('the README example runs and exits by itself', () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const example = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const file = fileURLToPath(new URL('./fixtures/readme-example.ts', import.meta.url));
  writeFileSync(file, example!);
  try {
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 10_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("[ '127.0.0.1:8081', '127.0.0.1:8082' ]");
  } finally {
    rmSync(file, { force: true });
  }
});

it("the root README's 'Using core' example runs and exits by itself", () => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  const example = /## Using core\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const file = fileURLToPath(new URL('./fixtures/root-readme-example.ts', import.meta.url));
  writeFileSync(file, example!);
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DISCOVERY_')));
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 10_000, env });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^calling 127\.0\.0\.1:808[12]\n2 instances\n$/);
  } finally {
    rmSync(file, { force: true });
  }
});
