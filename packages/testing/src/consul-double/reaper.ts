import { tryParseDuration } from '@disco/core';
import type { ConsulRegistry } from './registry.js';

/**
 * Consul's reaper: every `periodMs` (30s in Consul) it deregisters each service with a check
 * that has been critical for longer than its DeregisterCriticalServiceAfter, which is never
 * taken as less than `minimumMs` (1m in Consul).
 */
export class Reaper {
  readonly #timer: NodeJS.Timeout;

  constructor(registry: ConsulRegistry, options: { periodMs: number; minimumMs: number; onReap: (ns: string, serviceId: string) => void }) {
    this.#timer = setInterval(() => {
      for (const { ns, serviceId } of registry.expiredServices(Date.now(), options.minimumMs, tryParseDuration)) {
        options.onReap(ns, serviceId);
      }
    }, options.periodMs);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
