// The provider conformance suite, with instances added and removed by editing the records of
// a real dnsmasq (DNS cannot register: the "backend" is the zone itself).
import { createInstance, type Instance, type Provider, type Service } from '@disco/core';
import type { ServiceSource } from '@disco/core/provider';
import { Dnsmasq } from '@disco/testing';
import { describeProvider, type ConformanceBackend } from '@disco/testing/conformance';
import { afterAll, beforeAll } from 'vitest';
import { DnsProvider } from '../src/index.js';

const domain = 'disco.test';
let dnsmasq: Dnsmasq;
const zone = new Map<string, { service: Service; healthy: boolean }>();

beforeAll(async () => {
  dnsmasq = await Dnsmasq.start({}, { ttl: 1, domains: [domain] });
});
afterAll(async () => {
  await dnsmasq?.close();
});

/** Each service becomes SRV `<name>.disco.test` → `<id>.disco.test:<port>` (weight carried), plus that host's address; unhealthy ones leave the zone, as in Consul's DNS. */
const backend: ConformanceBackend = {
  add: async (service) => {
    zone.set(service.id, { service, healthy: zone.get(service.id)?.healthy ?? true });
    await publish();
  },
  remove: async (_name, id) => {
    zone.delete(id);
    await publish();
  },
  setHealthy: async (_name, id, healthy) => {
    const entry = zone.get(id);
    if (entry) zone.set(id, { ...entry, healthy });
    await publish();
  },
};

async function publish(): Promise<void> {
  const entries = [...zone.values()].sort((a, b) => (a.service.id < b.service.id ? -1 : 1));
  await dnsmasq.setRecords({
    srv: entries
      .filter((e) => e.healthy)
      .map(({ service: s }) => ({ name: `${s.name}.${domain}`, target: `${s.id}.${domain}`, port: s.port, priority: 0, weight: s.weight ?? 1 })),
    hosts: entries.map(({ service: s }) => ({ name: `${s.id}.${domain}`, addresses: [s.address] })),
  });
}

/**
 * DNS names an instance `<target>:<port>`; the suite checks the ids it added, so this view
 * maps `<id>.disco.test:<port>` back to `<id>` (one mapped object per instance, so snapshot
 * identity is kept). Everything else passes straight through.
 */
function withSuiteIds(provider: DnsProvider): Provider {
  const mapped = new WeakMap<Instance, Instance>();
  const suiteId = (instance: Instance) => {
    let view = mapped.get(instance);
    if (!view) mapped.set(instance, (view = createInstance({ ...instance, id: instance.id.replace(`.${domain}:${instance.port}`, '') })));
    return view;
  };
  return {
    name: provider.name,
    capabilities: provider.capabilities,
    register: (s, o) => provider.register(s, o),
    deregister: (id, o) => provider.deregister(id, o),
    discover: async (n, o) => (await provider.discover(n, o)).map(suiteId),
    watch: (n, listener, o) => provider.watch(n, (e) => listener('instances' in e ? { instances: e.instances.map(suiteId) } : e), o),
    // What a Discovery runs in its own engine: the provider's source, ids mapped the same way.
    source: (n): ServiceSource => {
      const source = provider.source(n);
      const list: ServiceSource['list'] = async (signal) => {
        const result = await source.list(signal);
        return { ...result, instances: [...result.instances].map(suiteId) };
      };
      return { ...source, list };
    },
    close: () => provider.close(),
  };
}

/** dnsmasq stops answering (its port stays reserved) and comes back with the same records. */
let down = false;
const outage = {
  async begin() {
    if (down) return;
    down = true;
    await dnsmasq.stop();
  },
  async end() {
    if (!down) return;
    down = false;
    await dnsmasq.restart();
  },
};

describeProvider(
  'dns (dnsmasq)',
  () => withSuiteIds(new DnsProvider({ servers: dnsmasq.address, domain, timeout: 500, minRefresh: 100, refreshTtl: 1_000 })),
  { backend, unhealthy: 'remove', fields: ['weight'], settleTimeoutMs: 6_000, outage },
);
