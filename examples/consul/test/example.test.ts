import { fileURLToPath } from 'node:url';
import { runScript } from '@disco/testing';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

it('the Consul example registers with checks, balances, drops the failing server, takes it back and exits 0 by itself', async () => {
  // Without CONSUL_HTTP_ADDR the example starts its own Consul double.
  const { code, stdout, stderr } = await runScript(main, { env: { CONSUL_HTTP_ADDR: undefined }, timeoutMs: 25_000 });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/watch: greeter-alpha@127\.0\.0\.1:\d+, greeter-bravo@127\.0\.0\.1:\d+\n/);
  expect(stdout).toMatch(/6 requests went to: (alpha|bravo) ×3, (alpha|bravo) ×3/);
  expect(stdout).toMatch(/watch: greeter-alpha@127\.0\.0\.1:\d+, greeter-bravo@127\.0\.0\.1:\d+ \(critical\)/);
  expect(stdout).toMatch(/4 requests went to: alpha ×4\n/);
  expect(stdout).toMatch(/bravo passes again/);
  expect(stdout.trim().split('\n').at(-1)).toMatch(/closed; exit 0$/);
}, 30_000);
