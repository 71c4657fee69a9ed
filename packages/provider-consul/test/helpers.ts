import type { Instance, ProviderEvent, WatchEvent } from '@disco/core';
import { ConsulDouble, waitFor, type ConsulDoubleOptions } from '@disco/testing';
import { afterEach } from 'vitest';
import { ConsulProvider, type ConsulProviderOptions } from '../src/index.js';

/**
 * Per-test Consul doubles and providers, closed after each test. `start` gives a fresh double
 * and a provider on it (no environment), with the provider's events collected.
 */
export function consulFixture(defaults: { double?: ConsulDoubleOptions; provider?: ConsulProviderOptions } = {}) {
  const doubles: ConsulDouble[] = [];
  const providers: ConsulProvider[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    await Promise.all(doubles.splice(0).map((d) => d.close()));
  });
  const provider = (double: ConsulDouble, options: ConsulProviderOptions = {}) => {
    const created = new ConsulProvider({ address: double.address, ...defaults.provider, ...options }, { env: {} });
    providers.push(created);
    return created;
  };
  return {
    provider,
    async start(options: { double?: ConsulDoubleOptions; provider?: ConsulProviderOptions } = {}) {
      const double = await ConsulDouble.start({ ...defaults.double, ...options.double });
      doubles.push(double);
      const created = provider(double, options.provider);
      const events: ProviderEvent[] = [];
      created.onEvent((e) => events.push(e));
      return { double, provider: created, events };
    },
  };
}

/** Records a watch's events and waits for the one a test expects. */
export class Recorder {
  readonly events: WatchEvent[] = [];
  readonly listener = (event: WatchEvent): void => void this.events.push(event);

  snapshots(): (readonly Instance[])[] {
    return this.events.flatMap((e) => ('instances' in e ? [e.instances] : []));
  }

  errors(): WatchEvent[] {
    return this.events.filter((e) => 'error' in e);
  }

  last(): WatchEvent | undefined {
    return this.events.at(-1);
  }

  async until(test: (instances: readonly Instance[]) => boolean, what: string, timeoutMs = 5_000): Promise<readonly Instance[]> {
    await waitFor(() => {
      const last = this.last();
      return last !== undefined && 'instances' in last && test(last.instances);
    }, { timeoutMs, what });
    return (this.last() as { instances: readonly Instance[] }).instances;
  }

  async untilError(what: string, timeoutMs = 5_000): Promise<void> {
    const seen = this.errors().length;
    await waitFor(() => this.errors().length > seen, { timeoutMs, what });
  }
}

export const ids = (instances: readonly Instance[]): string[] => instances.map((i) => i.id).sort();
