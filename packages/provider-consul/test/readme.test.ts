import { ConsulDouble, runReadmeExample } from '@disco/testing';
import { expect, it } from 'vitest';

// The README example is code users copy: it must run as written. It runs against the agent in
// CONSUL_HTTP_ADDR when that is set (e.g. `consul agent -dev`), otherwise against the Consul double,
// which runs the HTTP check for real.
it('the README example registers with an HTTP check, waits until Consul passes it, calls itself, and exits by itself', async () => {
  const double = process.env.CONSUL_HTTP_ADDR ? undefined : await ConsulDouble.start();
  try {
    const env = double ? { CONSUL_HTTP_ADDR: double.address, CONSUL_HTTP_TOKEN: undefined, CONSUL_DATACENTER: undefined, CONSUL_NAMESPACE: undefined } : {};
    const run = await runReadmeExample(new URL('../README.md', import.meta.url), 'Example', new URL('./', import.meta.url), { env, timeoutMs: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^calling 127\.0\.0\.1:\d+: hello from api-1\n$/);
    if (double) {
      // close() deregistered the instance.
      expect(double.requestsTo('/v1/agent/service/deregister/api-1')).toHaveLength(1);
      expect(double.registry.hasService('default', 'api-1')).toBe(false);
    }
  } finally {
    await double?.close();
  }
});
