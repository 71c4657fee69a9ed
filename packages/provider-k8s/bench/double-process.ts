// The Kubernetes API double in a process of its own, for namespace.bench.ts: the bench's heap
// and CPU are then the client's alone. Driven over the IPC channel: `write` (one EndpointSlice),
// `stats` (connections and watches), `reset` (connection counts); `stop` ends it.
import { KubernetesApiDouble, makeTempDir, removeDir } from '@disco/testing';

const [services, perService] = process.argv.slice(2).map(Number) as [number, number];
const double = await new KubernetesApiDouble({ bookmarkIntervalMs: 60_000 }).start();
const dir = await makeTempDir('k8s-ns-bench');
const name = (i: number) => `svc-${String(i).padStart(4, '0')}`;
const write = (i: number, unready: number, generation: number) =>
  double.applyEndpointSlice({
    name: name(i),
    service: name(i),
    endpoints: Array.from({ length: perService }, (_, e) => ({ address: `10.${(i >> 8) + 1}.${i & 255}.${e + 1 + generation * 4}`, pod: `${name(i)}-${e}`, ready: e !== unready })),
  });
for (let i = 0; i < services; i++) write(i, -1, 0);

type Message = { op: 'write'; writes: [number, number, number][] } | { op: 'stats' | 'reset' | 'stop'; id?: number };
process.on('message', (message: Message) => {
  if (message.op === 'write') for (const [i, unready, generation] of message.writes) write(i, unready, generation);
  else if (message.op === 'reset') double.resetConnectionStats();
  else if (message.op === 'stats') process.send!({ id: message.id, connections: double.connections, watches: double.openWatches('endpointslices') });
  else void double.stop().then(() => removeDir(dir)).then(() => process.exit(0));
});
process.send!({ kubeconfig: await double.writeKubeconfig(dir) });
