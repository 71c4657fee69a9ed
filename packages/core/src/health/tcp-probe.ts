import { connect } from 'node:net';
import { parseHostPort } from '../validate.js';
import type { HealthProbe, HealthStatus } from './probe.js';

/** Passing when a TCP connection to host:port opens within the timeout. */
export const tcpProbe: HealthProbe = (target, { timeoutMs, signal }) =>
  new Promise<HealthStatus>((resolve) => {
    const parsed = parseHostPort(target);
    if (!parsed) {
      resolve('critical');
      return;
    }
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

