// Shared by the provider's tests: a Kubernetes API double with a kubeconfig on disk, and a
// conformance backend that writes EndpointSlices through the Kubernetes API itself, so it
// works the same against the double and against a real cluster.
import { DiscoveryV1Api, KubeConfig, type V1EndpointSlice } from '@kubernetes/client-node';
import type { ConformanceBackend } from '@disco/testing/conformance';
import { KubernetesApiDouble, makeTempDir, removeDir, type KubernetesApiDoubleOptions } from '@disco/testing';
import type { Instance, Service } from '@disco/core';
import { kubernetesProvider, type KubernetesProviderOptions } from '../src/index.js';

export interface DoubleFixture {
  readonly double: KubernetesApiDouble;
  readonly kubeconfig: string;
  provider(options?: KubernetesProviderOptions): ReturnType<typeof kubernetesProvider>;
  close(): Promise<void>;
}

/** Fast settings for tests: short backoff and watch timeouts. */
export const fast: KubernetesProviderOptions = { backoff: { initial: 20, max: 200 }, watchTimeout: '5s', watchGrace: '1s' };

export async function startDouble(options: KubernetesApiDoubleOptions = {}): Promise<DoubleFixture> {
  const double = await new KubernetesApiDouble({ bookmarkIntervalMs: 500, ...options }).start();
  const dir = await makeTempDir('k8s');
  const kubeconfig = await double.writeKubeconfig(dir);
  const providers: ReturnType<typeof kubernetesProvider>[] = [];
  return {
    double,
    kubeconfig,
    provider: (more = {}) => {
      const provider = kubernetesProvider({ kubeconfig, ...fast, ...more }, { env: {} });
      providers.push(provider);
      return provider;
    },
    close: async () => {
      await Promise.all(providers.map((p) => p.close()));
      await double.stop();
      await removeDir(dir);
    },
  };
}

/** Records watch events and waits for the snapshot a test expects. */
export { WatchRecorder as Recorder } from '@disco/testing';

export const ids = (instances: readonly Instance[] | undefined) => (instances ?? []).map((i) => i.id).sort();

const sliceName = (id: string) => `disco-${id}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');

/** One EndpointSlice per instance (targetRef = the id), written through the Kubernetes API. */
export function sliceBackend(kubeConfig: KubeConfig, namespace: string): ConformanceBackend & { cleanup(): Promise<void> } {
  const api = kubeConfig.makeApiClient(DiscoveryV1Api);
  const made = new Map<string, Service>();
  const body = (service: Service, ready: boolean): V1EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName(service.id), namespace, labels: { 'kubernetes.io/service-name': service.name, 'endpointslice.kubernetes.io/managed-by': 'disco-testing' } },
    addressType: service.address.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: 'http', port: service.port, protocol: 'TCP' }],
    endpoints: [
      {
        addresses: [service.address],
        conditions: { ready },
        targetRef: { kind: 'Pod', name: service.id, namespace },
        ...(service.zone !== undefined && { zone: service.zone }),
      },
    ],
  });
  const replace = async (service: Service, ready: boolean) => {
    const name = sliceName(service.id);
    const current = await api.readNamespacedEndpointSlice({ name, namespace });
    await api.replaceNamespacedEndpointSlice({ name, namespace, body: { ...body(service, ready), metadata: { ...body(service, ready).metadata, resourceVersion: current.metadata?.resourceVersion } } });
  };
  return {
    add: async (service) => {
      const again = made.has(service.id);
      made.set(service.id, service);
      if (again) await replace(service, true);
      else await api.createNamespacedEndpointSlice({ namespace, body: body(service, true) });
    },
    remove: async (_name, id) => {
      if (!made.delete(id)) return;
      await api.deleteNamespacedEndpointSlice({ name: sliceName(id), namespace });
    },
    setHealthy: async (_name, id, healthy) => replace(made.get(id)!, healthy),
    cleanup: async () => {
      for (const id of [...made.keys()]) await api.deleteNamespacedEndpointSlice({ name: sliceName(id), namespace }).catch(() => {});
      made.clear();
    },
  };
}

export function loadKubeConfig(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return kubeConfig;
}
