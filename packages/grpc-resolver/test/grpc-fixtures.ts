// Real grpc-js servers for the tests and the bench: a one-method "who are you" service (raw
// bytes, no protobuf) plus grpc.health.v1 from grpc-health-check.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

const identity = (value: Buffer): Buffer => value;
export const whoMethod = '/disco.test.Who/Who';

const whoService: grpc.ServiceDefinition = {
  who: {
    path: whoMethod,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** One gRPC server on 127.0.0.1 that answers Who with its id and counts the calls it got. */
export class TestServer {
  readonly id: string;
  port = 0;
  calls = 0;
  /** Added to every Who call. */
  delayMs = 0;
  readonly #server = new grpc.Server();
  readonly #health = new HealthImplementation({ '': 'SERVING', who: 'SERVING' });

  constructor(id: string) {
    this.id = id;
    const reply = Buffer.from(id);
    this.#server.addService(whoService, {
      who: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
        this.calls++;
        if (this.delayMs > 0) setTimeout(() => callback(null, reply), this.delayMs);
        else callback(null, reply);
      },
    });
    this.#health.addToServer(this.#server);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (default: any free one). */
  async start(port = 0): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    return this;
  }

  setStatus(status: ServingStatus, service = ''): void {
    this.#health.setStatus(service, status);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.forceShutdown();
      resolve();
    });
  }
}

export async function startServers(...ids: string[]): Promise<TestServer[]> {
  return Promise.all(ids.map((id) => new TestServer(id).start()));
}

/** One Who call; resolves with the id of the server that answered. */
export function callWho(client: grpc.Client, options: grpc.CallOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(whoMethod, identity, identity, Buffer.alloc(0), new grpc.Metadata(), options, (error, reply) =>
      error ? reject(error) : resolve(reply!.toString()),
    );
  });
}

/** `n` calls, `concurrency` at a time; counts answers per server id. */
export async function spread(client: grpc.Client, n: number, concurrency = 1): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      const id = await callWho(client, { deadline: Date.now() + 5_000 });
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

export function clientFor(target: string, serviceConfig?: object): grpc.Client {
  const options: grpc.ChannelOptions = serviceConfig ? { 'grpc.service_config': JSON.stringify(serviceConfig) } : {};
  return new grpc.Client(target, grpc.credentials.createInsecure(), options);
}
