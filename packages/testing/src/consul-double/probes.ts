import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { CheckDefinition, CheckStatus } from './types.js';

export interface ProbeResult {
  status: CheckStatus;
  output: string;
}

/**
 * Consul's HTTP check: a request to the URL; 2xx is passing, 429 warning, anything else (or
 * no answer within the timeout) critical. The output quotes the start of the body, as Consul's does.
 */
export function probeHttp(def: CheckDefinition, timeoutMs: number): Promise<ProbeResult> {
  const url = def.HTTP!;
  const method = def.Method || 'GET';
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      done({ status: 'critical', output: `${method} ${url}: invalid URL` });
      return;
    }
    const headers: Record<string, string | string[]> = { 'user-agent': 'Consul Health Check', accept: 'text/plain, text/*, */*' };
    for (const [name, values] of Object.entries(def.Header ?? {})) headers[name] = values;
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, { method, headers, agent: false, rejectUnauthorized: !def.TLSSkipVerify }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < 4096) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, 4096);
        const output = `HTTP ${method} ${url}: ${code} ${res.statusMessage ?? ''} Output: ${body}`;
        done({ status: code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical', output });
      });
      res.on('error', (error) => done({ status: 'critical', output: `${method} ${url}: ${error.message}` }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 'critical', output: `${method} ${url}: request timed out after ${timeoutMs}ms` });
    }, timeoutMs);
    req.on('error', (error) => done({ status: 'critical', output: `${method} ${url}: ${error.message}` }));
    req.end();
  });
}

/** Consul's TCP check: passing when a connection to host:port opens within the timeout. */
export function probeTcp(def: CheckDefinition, timeoutMs: number): Promise<ProbeResult> {
  const target = def.TCP!;
  const split = target.lastIndexOf(':');
  const host = target.slice(0, split).replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.slice(split + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'critical', output: `dial tcp ${target}: i/o timeout` }), timeoutMs);
    socket.once('connect', () => finish({ status: 'passing', output: `TCP connect ${target}: Success` }));
    socket.once('error', (error) => finish({ status: 'critical', output: `dial tcp ${target}: ${error.message}` }));
  });
}
