import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HealthProbe, HealthStatus } from './probe.js';

/**
 * GET the URL: 2xx passing, 429 warning, anything else (or no answer in time) critical — the
 * rules Consul uses. A fresh connection each time (no agent), so nothing lingers after a probe.
 */
export const httpProbe: HealthProbe = (target, { timeoutMs, signal }) =>
  new Promise<HealthStatus>((resolve) => {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      resolve('critical');
      return;
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', agent: false, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), headers: { 'user-agent': 'disco-health/1', connection: 'close' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.destroy();
      resolve(status >= 200 && status < 300 ? 'passing' : status === 429 ? 'warning' : 'critical');
    });
    req.on('error', () => resolve('critical'));
    req.end();
  });

