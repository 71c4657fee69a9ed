// The conformance suite against the Consul double, and against a real Consul agent when one is named:
//   consul agent -dev &  CONSUL_HTTP_ADDR=127.0.0.1:8500 pnpm vitest run test/conformance.test.ts
import { ConsulDouble } from '@disco/testing';
import { describeProvider } from '@disco/testing/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulProvider } from '../src/index.js';
import { Recorder } from './helpers.js';

let double: ConsulDouble;
beforeAll(async () => {
  double = await ConsulDouble.start();
});
afterAll(async () => {
  await double?.close();
});

/** The double stops answering (every connection cut, state kept) and comes back on the same port. */
let down = false;
const outage = {
  async begin() {
    if (down) return;
    down = true;
    await double.stop();
  },
  async end() {
    if (!down) return;
    down = false;
    await double.restart();
  },
};

describeProvider('consul (against the Consul double)', () => new ConsulProvider({ address: double.address, wait: '5s' }, { env: {} }), { outage });

const realAgent = process.env.CONSUL_HTTP_ADDR;

if (realAgent) {
  // Token, TLS, datacenter and namespace come from the same environment (CONSUL_HTTP_TOKEN, CONSUL_CACERT, …).
  describeProvider(`consul (real agent at ${realAgent})`, () => new ConsulProvider({ wait: '5s' }, { env: process.env }), {
    settleTimeoutMs: 10_000,
    noOutage: 'a real agent is not stopped by the tests; the outage rules run against the double',
  });

  describe(`blocking queries against the real agent at ${realAgent}`, () => {
    it('a watch blocks on X-Consul-Index and wakes on a registration', async () => {
      const provider = new ConsulProvider({ wait: '10s' }, { env: process.env });
      const name = `disco-real-${process.pid}`;
      try {
        const recorder = new Recorder();
        provider.watch(name, recorder.listener);
        await recorder.until((s) => s.length === 0, 'the empty first snapshot');
        await provider.register({ id: `${name}-1`, name, address: '127.0.0.1', port: 9, health: { ttl: '10s' } });
        const [instance] = await recorder.until((s) => s.length === 1, 'the registration', 10_000);
        expect(instance).toMatchObject({ id: `${name}-1`, healthy: true });
        await provider.register({ id: `${name}-1`, name, address: '127.0.0.1', port: 9, health: { ttl: '10s' } }, { healthy: false });
        await recorder.until((s) => s[0]?.healthy === false, 'maintenance mode', 10_000);
      } finally {
        await provider.close();
      }
    });
  });
} else {
  console.log('SKIPPED: the provider suite against a real Consul agent (set CONSUL_HTTP_ADDR, e.g. to a `consul agent -dev`, to run it); it ran against the Consul double only.');
}
