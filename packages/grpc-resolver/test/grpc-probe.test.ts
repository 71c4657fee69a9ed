import { waitFor } from '@disco/testing';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcProbe, grpcProbe } from '../src/index.ts';
import { decodeCheckResponse, encodeCheckRequest } from '../src/health-codec.ts';
import { startServers, type TestServer } from './grpc-fixtures.ts';

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
const probe = (target: string, timeoutMs = 1_000, signal = new AbortController().signal) => grpcProbe(target, { timeoutMs, signal });

/** A server whose Health/Check never answers: only the deadline ends the probe. */
async function startSilentServer(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const identity = (b: Buffer) => b;
  server.addService(
    { check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { check: () => {} },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, port };
}

describe('grpcProbe (grpc.health.v1 Check)', () => {
  let server: TestServer;
  let silent: { server: grpc.Server; port: number };
  let closedPort: number;

  beforeAll(async () => {
    const [up, down] = await startServers('up', 'down');
    server = up!;
    closedPort = down!.port;
    await down!.stop();
    silent = await startSilentServer();
  });

  afterAll(async () => {
    await server.stop();
    silent.server.forceShutdown();
  });

  it('is passing for SERVING and critical for NOT_SERVING, for the server and for one service', async () => {
    expect(await probe(server.address)).toBe('passing');
    expect(await probe(`${server.address}/who`)).toBe('passing');
    server.setStatus('NOT_SERVING', 'who');
    expect(await probe(`${server.address}/who`)).toBe('critical');
    expect(await probe(server.address)).toBe('passing');
    server.setStatus('NOT_SERVING');
    expect(await probe(server.address)).toBe('critical');
    server.setStatus('SERVING');
    server.setStatus('SERVING', 'who');
  });

  it('is critical for an unknown service (NOT_FOUND), a closed port and a bad target', async () => {
    expect(await probe(`${server.address}/nope`)).toBe('critical');
    expect(await probe(`127.0.0.1:${closedPort}`)).toBe('critical');
    expect(await probe('::not a target::')).toBe('critical');
  });

  it('gives up at the deadline when the server does not answer', async () => {
    const started = performance.now();
    expect(await probe(`127.0.0.1:${silent.port}`, 200)).toBe('critical');
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1_000);
  });

  it('stops at once when aborted, and is critical when the signal was aborted before', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const result = grpcProbe(`127.0.0.1:${silent.port}`, { timeoutMs: 5_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await result).toBe('critical');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await grpcProbe(server.address, { timeoutMs: 1_000, signal: AbortSignal.abort() })).toBe('critical');
  });

  it('leaves no socket open after a probe', async () => {
    const baseline = sockets();
    await Promise.all([probe(server.address), probe(`127.0.0.1:${silent.port}`, 100), probe(`127.0.0.1:${closedPort}`)]);
    await waitFor(() => sockets() <= baseline, { what: `probe sockets to close (baseline ${baseline}, now ${sockets()})`, timeoutMs: 3_000 });
  });

  it('takes credentials: a TLS probe against a plaintext server is critical', async () => {
    const tls = createGrpcProbe({ credentials: grpc.credentials.createSsl() });
    expect(await tls(`localhost:${server.port}`, { timeoutMs: 500, signal: new AbortController().signal })).toBe('critical');
  });
});

describe('health message codec', () => {
  it('encodes the service name as field 1 and an empty name as an empty message', () => {
    expect(encodeCheckRequest('')).toEqual(Buffer.alloc(0));
    expect(encodeCheckRequest('who')).toEqual(Buffer.from([0x0a, 3, 0x77, 0x68, 0x6f]));
    expect(encodeCheckRequest('x'.repeat(200)).subarray(0, 3)).toEqual(Buffer.from([0x0a, 0xc8, 0x01]));
  });

  it('reads status, skips unknown fields, defaults to UNKNOWN and rejects truncated input', () => {
    expect(decodeCheckResponse(Buffer.from([0x08, 0x01]))).toBe(1);
    expect(decodeCheckResponse(Buffer.alloc(0))).toBe(0);
    // field 2 (length-delimited "ab"), field 3 fixed32, then status NOT_SERVING
    expect(decodeCheckResponse(Buffer.from([0x12, 2, 0x61, 0x62, 0x1d, 0, 0, 0, 0, 0x08, 0x02]))).toBe(2);
    expect(() => decodeCheckResponse(Buffer.from([0x08]))).toThrow(/truncated/);
    expect(() => decodeCheckResponse(Buffer.from([0x12, 5, 0x61]))).toThrow(/truncated/);
  });
});
