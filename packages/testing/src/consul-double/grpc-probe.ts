import { connect } from 'node:http2';
import type { ProbeResult } from './probes.js';
import type { CheckDefinition } from './types.js';

const statuses = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/**
 * Consul's gRPC check: `grpc.health.v1.Health/Check` on `host:port[/service]`, passing only
 * when the answer is SERVING. Spoken directly over HTTP/2 (one length-prefixed protobuf
 * message each way) so the test kit needs no gRPC library.
 */
export function probeGrpc(def: CheckDefinition, timeoutMs: number): Promise<ProbeResult> {
  const target = def.GRPC!;
  const slash = target.indexOf('/');
  const authority = slash === -1 ? target : target.slice(0, slash);
  const service = slash === -1 ? '' : target.slice(slash + 1);
  return new Promise((resolve) => {
    let settled = false;
    const session = connect(`${def.GRPCUseTLS ? 'https' : 'http'}://${authority}`, { rejectUnauthorized: !def.TLSSkipVerify });
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'critical', output: `gRPC check ${target}: timed out after ${timeoutMs}ms` }), timeoutMs);
    session.on('error', (error) => finish({ status: 'critical', output: `gRPC check ${target}: ${error.message}` }));
    const name = Buffer.from(service, 'utf8');
    const message = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const stream = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => {
      grpcStatus = String(trailers['grpc-status'] ?? grpcStatus);
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error) => finish({ status: 'critical', output: `gRPC check ${target}: ${error.message}` }));
    stream.on('end', () => {
      if (grpcStatus !== '0') {
        finish({ status: 'critical', output: `gRPC check ${target}: rpc error: grpc-status ${grpcStatus ?? 'missing'}` });
        return;
      }
      const body = Buffer.concat(chunks).subarray(5);
      // HealthCheckResponse { ServingStatus status = 1; } — an absent field is 0 (UNKNOWN).
      const value = body[0] === 0x08 ? (body[1] ?? 0) : 0;
      const label = statuses[value] ?? String(value);
      finish({ status: value === 1 ? 'passing' : 'critical', output: `gRPC check ${target}: ${label}` });
    });
    stream.end(frame);
  });
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}
