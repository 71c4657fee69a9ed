import { fileURLToPath } from 'node:url';
import { runScript } from '@disco/testing';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

it('the etcd example registers, balances, finds the Go service, hears the removal and exits 0 by itself', async () => {
  // Without ETCD_ENDPOINTS the example starts its own etcd.
  const { code, stdout, stderr } = await runScript(main, { env: { ETCD_ENDPOINTS: undefined }, timeoutMs: 25_000 });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/watch: 2 instance\(s\): greeter-alpha@127\.0\.0\.1:\d+, greeter-bravo@127\.0\.0\.1:\d+/);
  expect(stdout).toMatch(/6 requests went to: (alpha|bravo) ×3, (alpha|bravo) ×3/);
  expect(stdout).toMatch(/Go service found: payments at 10\.2\.0\.9:50051 \(metadata version go-1\.4\)/);
  expect(stdout).toMatch(/Go service found.*\n.*watch: 1 instance\(s\): greeter-alpha@/);
  expect(stdout).toMatch(/4 requests went to: alpha ×4\n/);
  expect(stdout.trim().split('\n').at(-1)).toMatch(/closed; exit 0$/);
}, 30_000);
