import { fileURLToPath } from 'node:url';
import { runScript } from '@disco/testing';
import { expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

it('the OpenTelemetry example prints spans for its registrations, serves disco metrics for Prometheus and exits 0', async () => {
  const { code, stdout, stderr } = await runScript(main, { timeoutMs: 15_000 });
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/span: register greeter static [\d.]+ ms \(child of the caller’s span\)\n.*span: register greeter static/);
  expect(stdout).toMatch(/6 calls answered by: (alpha|bravo), (alpha|bravo), (alpha|bravo), (alpha|bravo), (alpha|bravo), (alpha|bravo)\n/);
  expect(stdout).toMatch(/metric: disco_instances\{disco_service_name="greeter",disco_provider_name="static",disco_instance_health="healthy"\} 2\n/);
  expect(stdout).toMatch(/metric: disco_registrations_total\{disco_provider_name="static",disco_service_name="greeter",disco_service_id="greeter-1"\} 1\n/);
  const calls = [...stdout.matchAll(/metric: disco_call_duration_count\{disco_service_name="greeter",disco_instance_id="greeter-\d",server_address="127\.0\.0\.1",server_port="\d+",disco_call_outcome="ok"\} (\d+)/g)];
  expect(calls.map((m) => Number(m[1]))).toEqual([3, 3]);
  expect(stdout.trim().split('\n').at(-1)).toBe('closed; exit 0');
});
