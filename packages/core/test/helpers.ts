import { createInstance, type Instance, type Provider, type WatchListener } from '@disco/core';

/**
 * A provider whose backend the test controls: set what discover() returns, push watch
 * events, make calls fail. It counts backend calls, which is what the cache tests measure.
 */
export class ScriptedProvider implements Provider {
  readonly name = 'scripted';
  capabilities = { register: true, watch: true, serverHealthChecks: false };
  instances: Instance[] = [];
  failing: Error | undefined;
  discoverCalls = 0;
  discoverDelayMs = 0;
  readonly listeners = new Set<WatchListener>();
  watchCalls = 0;
  closed = false;

  async register(): Promise<void> {}
  async deregister(): Promise<void> {}
  async discover(): Promise<Instance[]> {
    this.discoverCalls++;
    if (this.discoverDelayMs) await new Promise((r) => setTimeout(r, this.discoverDelayMs));
    if (this.failing) throw this.failing;
    return this.instances;
  }
  watch(_name: string, listener: WatchListener) {
    this.watchCalls++;
    this.listeners.add(listener);
    queueMicrotask(() => (this.failing ? listener({ error: this.failing as never }) : listener({ instances: this.instances })));
    return () => void this.listeners.delete(listener);
  }
  /** Changes the backend and tells every watcher. */
  set(instances: Instance[]): void {
    this.instances = instances;
    for (const l of this.listeners) l({ instances });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export const inst = (id: string, extra: Partial<Instance> = {}): Instance =>
  createInstance({ id, name: 'svc', address: '127.0.0.1', port: 1000 + Number(id.replace(/\D/g, '') || 0), ...extra });

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
