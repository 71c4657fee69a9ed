import { ConsulDouble, describeProvider } from '@disco/testing';
import { afterAll, beforeAll } from 'vitest';
import { ConsulProvider } from '../src/index.js';

let double: ConsulDouble;
beforeAll(async () => {
  double = await ConsulDouble.start();
});
afterAll(async () => {
  await double?.close();
});

describeProvider('consul (against the Consul double)', () => new ConsulProvider({ address: double.address, wait: '5s' }, { env: {} }));
