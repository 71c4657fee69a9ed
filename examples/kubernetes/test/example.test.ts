import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

it('the kubernetes example finds two pods, balances, drops the unready one, refuses to register and exits 0 by itself', async () => {
  const env = { ...process.env };
  delete env.KUBECONFIG; // the example plays the cluster with the API double
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/watch: 2 instance\(s\): greeter-7d4f-alpha@127\.0\.0\.1:\d+ \(zone-a\), greeter-7d4f-bravo@127\.0\.0\.1:\d+ \(zone-b\)/);
  expect(stdout).toMatch(/6 requests went to: greeter-7d4f-(alpha|bravo) ×3, greeter-7d4f-(alpha|bravo) ×3/);
  expect(stdout).toMatch(/bravo turned unready\n.*watch: 1 instance\(s\): greeter-7d4f-alpha@/);
  expect(stdout).toMatch(/4 requests went to: greeter-7d4f-alpha ×4\n/);
  expect(stdout).toMatch(/register: ERR_UNSUPPORTED: .*a pod joins a Service through its labels/);
  expect(stdout.trim().split('\n').at(-1)).toMatch(/closed; exit 0$/);
}, 30_000);
