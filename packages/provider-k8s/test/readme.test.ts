import { KubernetesApiDouble, makeTempDir, removeDir, runReadmeExample } from '@disco/testing';
import { expect, it } from 'vitest';

// The README example is code users copy: it must run as written. It names a Service of its own
// (user-service in production), so it runs against the API double even when KUBECONFIG names a
// real cluster; the provider's suites are the ones that also run against a real cluster.
it('the README example finds the ready pod of user-service, resolves it and exits by itself', async () => {
  const cluster = await new KubernetesApiDouble().start();
  const dir = await makeTempDir('readme-k8s');
  try {
    const slice = { service: 'user-service', namespace: 'production', ports: [{ name: 'http', port: 8080 }] };
    cluster.applyEndpointSlice({ ...slice, name: 'user-service-a', endpoints: [{ address: '10.1.2.3', pod: 'user-service-a', ready: true }] });
    cluster.applyEndpointSlice({ ...slice, name: 'user-service-b', endpoints: [{ address: '10.1.2.4', pod: 'user-service-b', ready: false }] });
    const env = { KUBECONFIG: await cluster.writeKubeconfig(dir), K8S_NAMESPACE: undefined, K8S_IN_CLUSTER: undefined, K8S_PORT: undefined };
    const run = await runReadmeExample(new URL('../README.md', import.meta.url), 'Example', new URL('./', import.meta.url), { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // The watch's line and the resolve's line, in either order; the unready pod is in neither.
    expect(run.stdout.trim().split('\n').sort()).toEqual(["[ '10.1.2.3:8080' ]", 'calling 10.1.2.3:8080']);
  } finally {
    await cluster.stop();
    await removeDir(dir);
  }
});
