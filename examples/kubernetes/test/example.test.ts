import { fileURLToPath } from 'node:url';
import { runScript } from '@disco/testing';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

it('the kubernetes example finds two pods, balances, drops the unready one, refuses to register and exits 0 by itself', async () => {
  // Without KUBECONFIG the example plays the cluster with the API double.
  const { code, stdout, stderr } = await runScript(main, { env: { KUBECONFIG: undefined }, timeoutMs: 25_000 });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/watch: 2 instance\(s\): greeter-7d4f-alpha@127\.0\.0\.1:\d+ \(zone-a\), greeter-7d4f-bravo@127\.0\.0\.1:\d+ \(zone-b\)/);
  expect(stdout).toMatch(/6 requests went to: greeter-7d4f-(alpha|bravo) ×3, greeter-7d4f-(alpha|bravo) ×3/);
  expect(stdout).toMatch(/bravo turned unready\n.*watch: 1 instance\(s\): greeter-7d4f-alpha@/);
  expect(stdout).toMatch(/4 requests went to: greeter-7d4f-alpha ×4\n/);
  expect(stdout).toMatch(/register: ERR_UNSUPPORTED: .*a pod joins a Service through its labels/);
  expect(stdout.trim().split('\n').at(-1)).toMatch(/closed; exit 0$/);
}, 30_000);
