import { createInstance, ProviderUnavailableError, type Instance, type Provider, type ProviderEvent, type WatchListener } from '@disco/core';

/** A provider the test drives: it pushes snapshots and outages to watchers, fails registrations on demand, and emits events. */
export class FlakyProvider implements Provider {
  readonly name = 'flaky';
  readonly capabilities = { register: true, watch: true, serverHealthChecks: false };
  instances: Instance[] = [];
  failRegister = false;
  readonly #watchers = new Set<WatchListener>();
  readonly #events = new Set<(event: ProviderEvent) => void>();

  async register(): Promise<void> {
    if (this.failRegister) throw new ProviderUnavailableError('flaky', 'the registry is down');
  }
  async deregister(): Promise<void> {}
  async discover(): Promise<Instance[]> {
    return this.instances;
  }
  watch(_name: string, listener: WatchListener) {
    this.#watchers.add(listener);
    queueMicrotask(() => listener({ instances: this.instances }));
    return () => void this.#watchers.delete(listener);
  }
  onEvent(listener: (event: ProviderEvent) => void) {
    this.#events.add(listener);
    return () => void this.#events.delete(listener);
  }
  set(instances: Instance[]): void {
    this.instances = instances;
    for (const watcher of this.#watchers) watcher({ instances });
  }
  fail(): void {
    const error = new ProviderUnavailableError('flaky', 'connection refused');
    for (const watcher of this.#watchers) watcher({ error });
  }
  emit(event: ProviderEvent): void {
    for (const listener of this.#events) listener(event);
  }
  get watchers(): number {
    return this.#watchers.size;
  }
  async close(): Promise<void> {}
}

export const instance = (id: string, healthy = true): Instance => createInstance({ id, name: 'users', address: '127.0.0.1', port: 9000 + Number(id.replace(/\D/g, '')), healthy });
