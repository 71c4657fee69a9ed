import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConsulDouble } from '@disco/testing';
import { expect, it } from 'vitest';

it('after close() the process ends by itself, with its services deregistered', async () => {
  const double = await ConsulDouble.start();
  try {
    const fixture = fileURLToPath(new URL('./fixtures/close-and-exit.ts', import.meta.url));
    const child = spawn(process.execPath, [fixture, double.address], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 8_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, `the child did not exit by itself:\n${output}`).toBe(0);
    expect(output).toContain('closed');
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(double.registry.agentServices('default')).toEqual({});
  } finally {
    await double.close();
  }
});
