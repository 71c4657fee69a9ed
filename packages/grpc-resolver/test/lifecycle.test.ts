import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/lifecycle.ts', import.meta.url));

it('a process that serves, registers, resolves, calls, then unregisters and closes, exits by itself at once', async () => {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let closedAt = 0;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      if (line.startsWith('closed')) closedAt = performance.now();
    }
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (c) => (clearTimeout(timer), resolve(c)));
  });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(lines[0]).toBe('called');
  // No timer, socket or server left (the PipeWraps are this test's stdout/stderr pipes).
  const resources = JSON.parse(lines[1]!.slice('closed '.length)) as string[];
  expect(resources.filter((r) => r !== 'PipeWrap')).toEqual([]);
  expect(performance.now() - closedAt).toBeLessThan(1_000);
});
