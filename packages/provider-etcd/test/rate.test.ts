import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster } from '@disco/testing';
import { Etcd3, type WatchBuilder } from 'etcd3';
import { etcdProvider } from '../src/index.ts';
import { eventLog, Recorder, unique } from './helpers.ts';

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(async () => {
  await etcd?.stop();
});

/** Range requests etcd has started, from its own metrics: counted at the server. */
async function rangesAtServer(): Promise<number> {
  const metrics = await fetch(`${etcd.member(0).clientUrl}/metrics`).then((r) => r.text());
  return Number(/^grpc_server_started_total\{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"\} (\S+)$/m.exec(metrics)?.[1] ?? 0);
}

describe('request rate', () => {
  it('a watch etcd cancels at once, every time, over corrupt records, costs at most 5 lists/watches a second (burst 10), even with no backoff', async () => {
    const svc = unique('svc');
    const put = (id: string, value: string) => etcd.etcdctl(['put', `/services/${svc}/${id}`, value]);
    await put('good', JSON.stringify({ v: 1, id: 'good', name: svc, address: '127.0.0.1', port: 1, healthy: true }));
    await put('garbage', '{"v":1,"id":');
    const status = JSON.parse(await etcd.etcdctl(['endpoint', 'status', '--write-out=json'])) as Array<{ Status: { header: { revision: number } } }>;
    const compacted = status[0]!.Status.header.revision;
    await put('garbage', '<<< not json at all >>>');
    await etcd.etcdctl(['compact', String(compacted + 1)]);

    // Every watch starts at a compacted revision: etcd cancels it as soon as it is created.
    const client = new Etcd3({ hosts: etcd.endpoints });
    let watches = 0;
    const realWatch = client.watch.bind(client);
    client.watch = (): WatchBuilder => {
      const builder = realWatch();
      const start = builder.startRevision.bind(builder);
      builder.startRevision = () => {
        watches++;
        return start(String(compacted));
      };
      return builder;
    };
    const provider = etcdProvider({ client, backoff: { initial: 0, max: 0 } }, { env: {} });
    const log = eventLog();
    provider.onEvent(log.listener);
    try {
      const recorder = new Recorder();
      provider.watch(svc, recorder.listener);
      await recorder.until((s) => s.length === 1, 'the good instance');
      const [ranges0, watches0, t0] = [await rangesAtServer(), watches, performance.now()];
      await new Promise((r) => setTimeout(r, 3_000)); // the measuring window
      const [ranges1, watches1, seconds] = [await rangesAtServer(), watches, (performance.now() - t0) / 1000];
      const lists = ranges1 - ranges0;
      const follows = watches1 - watches0;
      console.log(
        `etcd cancelling every watch at once, backoff 0: ${lists} Range requests at the server and ${follows} watch creations in ${seconds.toFixed(1)} s ` +
          `(${((lists + follows) / seconds).toFixed(1)} requests/s; the bound is 5/s with a burst of 10)`,
      );
      // Lists and follows share one bucket of 10 tokens refilled at 5/s.
      expect(lists + follows).toBeLessThanOrEqual(10 + 5 * seconds);
      expect(follows).toBeGreaterThan(0); // it did keep trying
      expect(recorder.last()?.map((i) => i.id)).toEqual(['good']); // the garbage cost nothing but events
      expect(recorder.errors()).toEqual([]);
      expect(log.of('invalid-record')).toHaveLength(1); // once per key and revision, not once per list
    } finally {
      await provider.close();
      client.close();
    }
  });
});
