import { parseHostPort } from '../validate.js';
import type { HealthProbe, HealthStatus } from './probe.js';

/** Passing when a TCP connection to host:port opens within the timeout. node:net is imported on the first probe. */
export const tcpProbe: HealthProbe = async (target, { timeoutMs, signal }) => {
  const parsed = parseHostPort(target);
  if (!parsed) return 'critical';
  const { connect } = await import('node:net');
  return new Promise<HealthStatus>((resolve) => {
    const socket = connect({ host: parsed.address, port: parsed.port, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('passing');
    });
    socket.once('error', () => {
      socket.destroy();
      resolve('critical');
    });
  });
};
