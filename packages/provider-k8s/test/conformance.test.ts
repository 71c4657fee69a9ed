// The read-only part of the provider conformance suite: instances come and go as
// EndpointSlices written through the Kubernetes API — to the double always, and to a real
// cluster as well when KUBECONFIG names one.
import { afterAll, describe } from 'vitest';
import { describeProvider } from '@disco/testing/conformance';
import { kubernetesProvider } from '../src/index.js';
import { fast, loadKubeConfig, sliceBackend, startDouble, type DoubleFixture } from './helpers.js';

const suite = { unhealthy: 'remove', fields: ['zone'], address: '192.0.2.10', settleTimeoutMs: 5_000 } as const;

describe('against the Kubernetes API double', async () => {
  const fixture: DoubleFixture = await startDouble();
  const backend = sliceBackend(loadKubeConfig(fixture.kubeconfig), 'default');
  // An outage is the API server going away (connections refused) and coming back with its objects.
  const outage = {
    begin: async () => {
      if (fixture.double.running) await fixture.double.stop();
    },
    end: async () => {
      if (!fixture.double.running) await fixture.double.start();
    },
  };
  describeProvider('kubernetes (double)', () => fixture.provider(), { ...suite, backend, outage });
  // The same rules per service when every watched service shares one namespace-wide watch.
  describeProvider('kubernetes (double, one namespace watch)', () => fixture.provider({ namespaceWatch: 'always' }), { ...suite, backend, outage });
  afterAll(() => fixture.close());
});

const realKubeconfig = process.env.KUBECONFIG;
if (realKubeconfig) {
  describe('against the cluster named by KUBECONFIG', () => {
    const namespace = process.env.K8S_NAMESPACE ?? 'default';
    const backend = sliceBackend(loadKubeConfig(realKubeconfig), namespace);
    for (const namespaceWatch of ['auto', 'always'] as const) {
      describeProvider(`kubernetes (real cluster, namespaceWatch ${namespaceWatch})`, () => kubernetesProvider({ ...fast, watchTimeout: '60s', kubeconfig: realKubeconfig, namespace, namespaceWatch }, { env: {} }), {
        ...suite,
        backend,
        settleTimeoutMs: 15_000,
        noOutage: 'a real cluster cannot be stopped by a test',
      });
    }
    afterAll(() => backend.cleanup());
  });
} else {
  console.log('[provider-k8s] KUBECONFIG is not set: SKIPPED the conformance suite against a real cluster (ran it against the Kubernetes API double only)');
}
