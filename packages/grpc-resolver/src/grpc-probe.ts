import { registerProbe, type HealthProbe } from '@disco/core';
import { Client, credentials as grpcCredentials, Metadata, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { checkMethod, decodeCheckResponse, encodeCheckRequest, SERVING } from './health-codec.js';

export interface GrpcProbeOptions {
  /** Channel credentials for the checked server. Default insecure (plaintext), like Consul without GRPCUseTLS. */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options for the probe's channel. */
  channelOptions?: ChannelOptions;
}

/**
 * A `grpc` health probe: calls `grpc.health.v1.Health/Check` on `host:port[/service]` with a
 * deadline of `timeoutMs`. SERVING is passing; anything else (NOT_SERVING, UNKNOWN,
 * SERVICE_UNKNOWN, an error status, the deadline) is critical. Each probe opens its own
 * channel and closes it when done, so an aborted or finished probe holds no socket.
 */
export function createGrpcProbe(options: GrpcProbeOptions = {}): HealthProbe {
  const credentials = options.credentials ?? grpcCredentials.createInsecure();
  // A private subchannel pool: the connection is closed with the client, not cached globally.
  const channelOptions: ChannelOptions = { ...options.channelOptions, 'grpc.use_local_subchannel_pool': 1 };
  return (target, { timeoutMs, signal }) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve('critical');
      const slash = target.indexOf('/');
      const address = slash === -1 ? target : target.slice(0, slash);
      const service = slash === -1 ? '' : target.slice(slash + 1);
      let client: Client;
      try {
        client = new Client(address, credentials, channelOptions);
      } catch {
        return resolve('critical');
      }
      const call = client.makeUnaryRequest(
        checkMethod,
        encodeCheckRequest,
        decodeCheckResponse,
        service,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, status) => {
          signal.removeEventListener('abort', onAbort);
          client.close();
          resolve(!error && status === SERVING ? 'passing' : 'critical');
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

/** The probe with insecure credentials. */
export const grpcProbe: HealthProbe = createGrpcProbe();

/** Lets core's health agent run `health: { grpc: 'host:port[/service]' }` checks. */
export function registerGrpcProbe(probe: HealthProbe = grpcProbe): void {
  registerProbe('grpc', probe);
}
