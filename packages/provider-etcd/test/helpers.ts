import type { Instance, ProviderEvent } from '@disco/core';
import type { EtcdCluster } from '@disco/testing';
import { Etcd3, type WatchBuilder } from 'etcd3';

let counter = 0;
/** A name no other test uses (tests share one etcd). */
export const unique = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

export { WatchRecorder as Recorder } from '@disco/testing';

/** Collects provider events. */
export function eventLog(): { events: ProviderEvent[]; listener: (e: ProviderEvent) => void; of: (type: string) => ProviderEvent[] } {
  const events: ProviderEvent[] = [];
  return { events, listener: (e) => void events.push(e), of: (type) => events.filter((e) => e.type === type) };
}

export const ids = (instances: readonly Instance[]) => instances.map((i) => i.id);

/** The member serving our watch, asked of etcd itself: the first running one whose watcher gauge is above 0; -1 if none. */
export async function memberWithWatcher(etcd: EtcdCluster): Promise<number> {
  for (let i = 0; i < etcd.members.length; i++) {
    if (!etcd.member(i).process.running) continue;
    const metrics = await fetch(`${etcd.member(i).clientUrl}/metrics`).then((r) => r.text());
    if (Number(/^etcd_debugging_mvcc_watcher_total (\S+)$/m.exec(metrics)?.[1] ?? 0) > 0) return i;
  }
  return -1;
}

/** Counters etcd keeps itself, from one member's /metrics: Range requests started, watchers open now. */
export async function serverCounters(clientUrl: string): Promise<{ ranges: number; watchers: number }> {
  const metrics = await fetch(`${clientUrl}/metrics`).then((r) => r.text());
  const value = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1] ?? 0);
  return {
    ranges: value(/^grpc_server_started_total\{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"\} (\S+)$/m),
    watchers: value(/^etcd_debugging_mvcc_watcher_total (\S+)$/m),
  };
}

/** A real client whose watchers connect but never deliver events: the stall etcd watchers are known for. */
export function silentWatchClient(hosts: string[]): Etcd3 {
  const client = new Etcd3({ hosts });
  const realWatch = client.watch.bind(client);
  client.watch = (): WatchBuilder => {
    const builder = realWatch();
    const realWatcher = builder.watcher.bind(builder);
    builder.watcher = () => {
      const watcher = realWatcher();
      const emit = watcher.emit.bind(watcher);
      watcher.emit = (event: string | symbol, ...args: unknown[]) => (event === 'data' ? false : emit(event, ...args));
      return watcher;
    };
    return builder;
  };
  return client;
}
