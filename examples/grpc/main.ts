// disco + gRPC: three gRPC servers register with grpc.health.v1 checks; a client calls
// `discovery:///greeter` with the disco load-balancing policy and follows the registry as it
// changes. Run: node examples/grpc/main.ts (after `pnpm build`)
import { createDiscovery, endpoint } from '@disco/core';
import { discoServiceConfig, registerDiscoveryResolver, registerGrpcProbe } from '@disco/grpc-resolver';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

// A Greeter with JSON messages, to keep the example free of .proto files.
const json = {
  serialize: (value: object) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as { name?: string; message?: string },
};
const greeterService = {
  sayHello: {
    path: '/demo.Greeter/SayHello',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;
const Greeter = grpc.makeGenericClientConstructor(greeterService, 'Greeter');

type Hello = (request: { name: string }, options: grpc.CallOptions, callback: grpc.requestCallback<{ message: string }>) => void;
const sayHello = (client: grpc.Client, name: string) =>
  new Promise<string>((resolve, reject) =>
    (client as unknown as { sayHello: Hello }).sayHello({ name }, { deadline: Date.now() + 2_000 }, (error, reply) =>
      error ? reject(error) : resolve(reply!.message),
    ),
  );

// 1. Three servers on loopback, each with the standard health service.
const names = ['alpha', 'bravo', 'charlie'];
const servers = new Map<string, { server: grpc.Server; health: HealthImplementation; port: number }>();
for (const name of names) {
  const server = new grpc.Server();
  server.addService(greeterService, {
    sayHello: (call: grpc.ServerUnaryCall<{ name: string }, object>, callback: grpc.sendUnaryData<object>) =>
      callback(null, { message: `hello ${call.request.name}, from ${name}` }),
  });
  const health = new HealthImplementation({ '': 'SERVING' });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  servers.set(name, { server, health, port });
}

// 2. Register them with grpc health checks, run by core's health agent with grpcProbe.
registerGrpcProbe();
const discovery = createDiscovery({ provider: 'static' });
for (const [name, { port }] of servers) {
  await discovery.register({
    id: `greeter-${name}`,
    name: 'greeter',
    address: '127.0.0.1',
    port,
    metadata: { name },
    health: { grpc: `127.0.0.1:${port}`, interval: '200ms', timeout: '200ms' },
  });
  console.log(`registered greeter-${name} at 127.0.0.1:${port}`);
}

// 3. Resolve one instance and call it directly.
const one = await discovery.resolve('greeter');
const direct = new Greeter(endpoint(one), grpc.credentials.createInsecure());
console.log(`resolve() gave ${endpoint(one)}: ${await sayHello(direct, 'direct caller')}`);
direct.close();

// 4. Or let grpc-js resolve: discovery:///greeter follows the registry, disco picks (p2c).
const unregister = registerDiscoveryResolver(discovery);
const client = new Greeter('discovery:///greeter', grpc.credentials.createInsecure(), {
  'grpc.service_config': JSON.stringify(discoServiceConfig({ balancer: 'p2c' })),
});
const spread = async (n: number) => {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const from = (await sayHello(client, 'channel caller')).split('from ')[1]!;
    counts.set(from, (counts.get(from) ?? 0) + 1);
  }
  return [...counts].sort().map(([name, count]) => `${name} ×${count}`).join(', ');
};
console.log(`30 calls on discovery:///greeter went to: ${await spread(30)}`);

// 5. bravo reports NOT_SERVING: the health agent takes it out and the channel follows.
servers.get('bravo')!.health.setStatus('', 'NOT_SERVING');
console.log('bravo set to NOT_SERVING');
await new Promise<void>((resolve) => {
  const stop = discovery.watch('greeter', (event) => {
    if ('instances' in event && event.instances.length === 2) {
      console.log(`watch: ${event.instances.map((i) => i.metadata.name).join(', ')}`);
      queueMicrotask(stop);
      resolve();
    }
  });
});
await new Promise((resolve) => setImmediate(resolve)); // the channel's update is a microtask behind the watch
console.log(`30 calls on discovery:///greeter went to: ${await spread(30)}`);

// 6. Shut down: nothing is left running, so the process exits by itself.
client.close();
unregister();
await discovery.close();
for (const { server } of servers.values()) server.forceShutdown();
console.log('closed; exiting');
