import type { HealthProbe, HealthStatus } from './probe.js';

/**
 * GET the URL: 2xx passing, 429 warning, anything else (or no answer in time) critical — the
 * rules Consul uses. A fresh connection each time (no agent), so nothing lingers after a probe.
 * node:http and node:https are imported on the first probe, not with core: they are most of
 * core's import time, and most processes never run an HTTP check.
 */
export const httpProbe: HealthProbe = async (target, { timeoutMs, signal }) => {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'critical';
  }
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<HealthStatus>((resolve) => {
    const req = request(url, { method: 'GET', agent: false, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), headers: { 'user-agent': 'disco-health/1', connection: 'close' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.destroy();
      resolve(status >= 200 && status < 300 ? 'passing' : status === 429 ? 'warning' : 'critical');
    });
    req.on('error', () => resolve('critical'));
    req.end();
  });
};
