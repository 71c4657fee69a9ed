// Talks to the Kubernetes API double over HTTPS the way a client does, for the double's own tests.
import { request } from 'node:https';
import type { KubernetesApiDouble } from '../src/index.js';

export interface WatchEvent {
  type: string;
  object: { kind?: string; apiVersion?: string; code?: number; reason?: string; metadata: { name?: string; resourceVersion: string; labels?: Record<string, string>; [key: string]: unknown }; [key: string]: unknown };
}

/** Opens a watch and collects its events until the stream ends or `stop()` is called. */
export function openWatch(double: KubernetesApiDouble, path: string, token: string | undefined = double.token) {
  const events: WatchEvent[] = [];
  let ended = false;
  let status = 0;
  const controller = new AbortController();
  const done = new Promise<void>((resolve) => {
    const req = request(`${double.url}${path}`, { ca: double.ca, agent: false, signal: controller.signal, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      status = res.statusCode ?? 0;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)) as WatchEvent);
          buffer = buffer.slice(nl + 1);
        }
      });
      const end = () => {
        ended = true;
        resolve();
      };
      res.on('end', end);
      res.on('error', end);
      res.on('close', end);
    });
    req.on('error', () => {
      ended = true;
      resolve();
    });
    req.end();
  });
  return {
    events,
    get ended() {
      return ended;
    },
    get status() {
      return status;
    },
    stop: () => controller.abort(),
    done,
    names: () => events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`),
  };
}
