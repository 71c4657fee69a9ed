import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

it('the Consul example registers with checks, balances, drops the failing server, takes it back and exits 0 by itself', async () => {
  const env = { ...process.env };
  delete env.CONSUL_HTTP_ADDR; // the example starts its own Consul double
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/watch: greeter-alpha@127\.0\.0\.1:\d+, greeter-bravo@127\.0\.0\.1:\d+\n/);
  expect(stdout).toMatch(/6 requests went to: (alpha|bravo) ×3, (alpha|bravo) ×3/);
  expect(stdout).toMatch(/watch: greeter-alpha@127\.0\.0\.1:\d+, greeter-bravo@127\.0\.0\.1:\d+ \(critical\)/);
  expect(stdout).toMatch(/4 requests went to: alpha ×4\n/);
  expect(stdout).toMatch(/bravo passes again/);
  expect(stdout.trim().split('\n').at(-1)).toMatch(/closed; exit 0$/);
}, 30_000);
