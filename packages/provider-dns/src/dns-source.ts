import type { ListResult, ServiceSource } from '@disco/core/provider';
import type { LookupResult } from './lookup.js';
import type { DnsSettings } from './options.js';

/** When to read again: the records' TTL clamped to [minRefresh, refreshTtl] (refreshTtl when nothing said). */
export function refreshMs(ttlSeconds: number | undefined, settings: Pick<DnsSettings, 'refreshMinMs' | 'refreshMaxMs'>): number {
  const ttlMs = ttlSeconds === undefined ? settings.refreshMaxMs : ttlSeconds * 1000;
  return Math.min(settings.refreshMaxMs, Math.max(settings.refreshMinMs, ttlMs));
}

/**
 * One service's instances in DNS, for core's watch engine. DNS cannot push, so there is no
 * `follow`: the engine polls `list` (one lookup) again after `refreshMs`, the records' TTL
 * clamped to [minRefresh, refreshTtl], plus 0–10 % (never early: a caching resolver would
 * repeat the old answer). Records that were skipped travel in `invalid`; NXDOMAIN is an empty
 * list; SERVFAIL, timeouts and garbage reject, and the engine keeps the last good snapshot.
 */
export function dnsSource(name: string, lookup: (name: string, signal: AbortSignal) => Promise<LookupResult>, settings: DnsSettings): ServiceSource {
  return {
    pollMs: settings.refreshMaxMs,
    // A failing server is asked again after minRefresh at the soonest, refreshTtl at the latest (full jitter).
    backoff: { initial: settings.refreshMinMs, max: settings.refreshMaxMs },
    async list(signal): Promise<ListResult> {
      const result = await lookup(name, signal);
      return { instances: result.instances, invalid: result.problems, refreshMs: refreshMs(result.ttlSeconds, settings) };
    },
  };
}
