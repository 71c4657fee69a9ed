import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@disco/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDouble, type DoubleFixture } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/watcher.ts', import.meta.url));

/** The fixture runs on the built package: rebuild when a source file is newer than dist. */
function ensureBuilt(): void {
  const newest = Math.max(...readdirSync(`${root}src`).map((f) => statSync(`${root}src/${f}`).mtimeMs));
  let built = 0;
  try {
    built = statSync(`${root}dist/index.js`).mtimeMs;
  } catch {
    // not built yet
  }
  if (built < newest) execFileSync('pnpm', ['exec', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}

let f: DoubleFixture;
beforeAll(async () => {
  ensureBuilt();
  f = await startDouble();
}, 60_000);
afterAll(() => f.close());

it('a process that closes its provider (watch still open) exits by itself: nothing is left behind', async () => {
  f.double.applyEndpointSlice({ name: 'proc', service: 'proc', endpoints: [{ address: '10.40.0.1', pod: 'proc-1' }] });
  const child = spawn(process.execPath, [fixture, 'proc'], { env: { ...process.env, KUBECONFIG: f.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => output.includes('closed'), { timeoutMs: 15_000, what: `the child to close (output: ${output})` });
    const closedAt = performance.now();
    const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 5_000))]);
    expect(code).toBe(0);
    expect(output).toContain('found proc-1');
    console.log(`[provider-k8s] child exited ${(performance.now() - closedAt).toFixed(0)} ms after close()`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
