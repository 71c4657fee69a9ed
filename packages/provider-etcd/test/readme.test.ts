import { EtcdCluster, runReadmeExample } from '@disco/testing';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';

// The README example is code users copy: it must run as written, here against a real etcd.
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(() => etcd?.stop());

it('the README example registers, resolves and, on close, leaves no key behind', async () => {
  const env = { ETCD_ENDPOINTS: etcd.endpoints.join(',') };
  const run = await runReadmeExample(new URL('../README.md', import.meta.url), 'Example', new URL('./', import.meta.url), { env });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('calling 10.0.0.7:8080');
  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    expect(await client.getAll().prefix('/services/').keys()).toEqual([]);
  } finally {
    client.close();
  }
});
