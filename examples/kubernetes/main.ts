// disco on Kubernetes: a client finds the pods behind a Service through its EndpointSlices,
// load-balances over them, sees a pod turn unready and leave, and learns that registration
// is Kubernetes' job (labels + readiness), not the client's.
// Run: node examples/kubernetes/main.ts
//   - with KUBECONFIG set: lists the endpoints of a Service of your cluster (default: the
//     `kubernetes` Service in `default`; set K8S_NAMESPACE / EXAMPLE_SERVICE / K8S_PORT), read-only;
//   - without: plays the cluster itself with the Kubernetes API double from @disco/testing.
import { createDiscovery, endpoint, type Instance } from '@disco/core';
import { KubernetesApiDouble, makeTempDir, removeDir } from '@disco/testing';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

const started = performance.now();
const say = (text: string) => console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s  ${text}`);
const list = (instances: readonly Instance[]) =>
  instances.map((i) => `${i.id}@${endpoint(i)}${i.zone ? ` (${i.zone})` : ''}`).join(', ') || 'none';

if (process.env.KUBECONFIG) {
  // A real cluster: read-only, nothing is changed.
  const name = process.env.EXAMPLE_SERVICE ?? 'kubernetes';
  const discovery = createDiscovery({ provider: 'kubernetes', kubernetes: { port: process.env.K8S_PORT ?? (name === 'kubernetes' ? 'https' : undefined) } });
  const instances = await discovery.discover(name, { healthyOnly: false });
  say(`service ${name}: ${instances.length} endpoint(s): ${list(instances)}`);
  await discovery.close();
  say('closed; exit 0');
} else {
  await playTheCluster();
}

async function playTheCluster(): Promise<void> {
  // 0. The "cluster": an API double on loopback, and a kubeconfig that points at it.
  const cluster = await new KubernetesApiDouble().start();
  const dir = await makeTempDir('example-k8s');
  process.env.KUBECONFIG = await cluster.writeKubeconfig(dir, { namespace: 'shop' });
  say(`API double at ${cluster.url}; KUBECONFIG=${process.env.KUBECONFIG}`);

  // 1. Two "pods": small HTTP servers answering with their name.
  const pods = new Map<string, Server>();
  for (const name of ['greeter-7d4f-alpha', 'greeter-7d4f-bravo']) {
    const server = createServer((_req, res) => res.end(name));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    pods.set(name, server);
  }
  const port = (name: string) => (pods.get(name)!.address() as { port: number }).port;
  // The EndpointSlice controller's part: one slice per pod here (each pod listens on its own
  // port on loopback), labelled with the Service name; readiness comes from the pods' probes.
  const publish = (pod: string, ready: boolean, zone: string) =>
    cluster.applyEndpointSlice({
      name: `greeter-${pod.slice(-5)}`,
      service: 'greeter',
      namespace: 'shop',
      ports: [{ name: 'http', port: port(pod) }],
      endpoints: [{ address: '127.0.0.1', pod, ready, zone, nodeName: `node-${zone}` }],
    });
  publish('greeter-7d4f-alpha', true, 'zone-a');
  publish('greeter-7d4f-bravo', true, 'zone-b');

  // 2. The client: everything it needs comes from KUBECONFIG and K8S_* variables.
  const discovery = createDiscovery({ provider: 'kubernetes', kubernetes: { port: 'http' } });
  discovery.watch('greeter', (event) => {
    if (!('instances' in event)) return say(`watch: error ${event.error.code}`);
    say(`watch: ${event.instances.length} instance(s): ${list(event.instances)}`);
  });
  // Waits until the service has `count` ready endpoints; updates() yields the current snapshot first.
  async function watched(count: number): Promise<void> {
    for await (const instances of discovery.updates('greeter')) if (instances.length === count) return;
  }

  async function callMany(count: number): Promise<void> {
    const tally = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const instance = await discovery.resolve('greeter');
      const answer = await (await fetch(`http://${endpoint(instance)}/`)).text();
      tally.set(answer, (tally.get(answer) ?? 0) + 1);
    }
    say(`${count} requests went to: ${[...tally].map(([n, c]) => `${n} ×${c}`).join(', ')}`);
  }
  await watched(2);
  await callMany(6);

  // 3. bravo's readiness probe fails: Kubernetes marks its endpoint not ready; it leaves.
  publish('greeter-7d4f-bravo', false, 'zone-b');
  say('bravo turned unready');
  await watched(1);
  await callMany(4);

  // 4. Registering is not the client's business in Kubernetes.
  try {
    await discovery.register({ id: 'me', name: 'greeter', address: '127.0.0.1', port: 1 });
  } catch (error) {
    say(`register: ${(error as { code: string }).code}: ${(error as Error).message}`);
  }

  // 5. Close everything: the process then exits by itself.
  await discovery.close();
  for (const server of pods.values()) server.close();
  await cluster.stop();
  await removeDir(dir);
  say('closed; exit 0');
}
