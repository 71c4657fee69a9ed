import { createInstance, InvalidRecordError, isValidPort, type Instance } from '@disco/core';
import { Packet, type Resource } from 'dns2';
import { isRefusal, isStop } from './errors.js';
import type { DnsSettings } from './options.js';
import type { Resolver } from './resolver.js';

/** Metadata key holding an instance's SRV priority (lower is preferred), as a decimal string. */
export const PRIORITY_KEY = 'dns.priority';
/** Metadata key holding the SRV target host name an instance was found under. */
export const TARGET_KEY = 'dns.target';

export interface LookupResult {
  readonly instances: Instance[];
  /** Smallest TTL among the records used, in seconds; undefined when nothing said. */
  readonly ttlSeconds: number | undefined;
  /** Records that were skipped, with the reason. */
  readonly problems: InvalidRecordError[];
}

interface Addresses {
  readonly list: string[];
  readonly ttl: number | undefined;
}

const { TYPE, RCODE } = Packet;

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function minTtl(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/** RFC 2308: a negative answer lives for min(SOA TTL, SOA MINIMUM). */
function negativeTtl(packet: Packet): number | undefined {
  const soa = packet.authorities.find((r) => r.type === TYPE.SOA);
  return soa ? Math.min(soa.ttl, soa.minimum ?? soa.ttl) : undefined;
}

/** IPv4 before IPv6, each sorted, so a server rotating its answers does not look like a change. */
function collect(records: readonly Resource[], accept: (r: Resource) => boolean): Addresses {
  let ttl: number | undefined;
  const v4: string[] = [];
  const v6: string[] = [];
  for (const r of records) {
    if (!accept(r) || r.address === undefined) continue;
    if (r.type === TYPE.A) v4.push(r.address);
    else if (r.type === TYPE.AAAA) v6.push(r.address);
    else continue;
    ttl = minTtl(ttl, r.ttl);
  }
  return { list: [...v4.sort(), ...v6.sort()], ttl };
}

/**
 * The A and AAAA records of `name`, each query settled on its own: addresses from one family
 * are used even when the other query failed; only when neither gave an address does a
 * failure reject (so REFUSED for AAAA alone does not lose a target's IPv4 address).
 */
async function resolveAddresses(resolver: Resolver, name: string, signal: AbortSignal | undefined): Promise<Addresses & { negativeTtl?: number | undefined }> {
  const settled = await Promise.allSettled([resolver.resolve(name, 'A', signal), resolver.resolve(name, 'AAAA', signal)]);
  const answers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  // The answer section holds the CNAME chain of this one question, so every address in it counts.
  const found = collect(answers.flatMap((p) => p.answers), () => true);
  if (failed && (found.list.length === 0 || isStop(failed.reason))) throw failed.reason;
  return { ...found, negativeTtl: found.list.length === 0 ? answers.map(negativeTtl).reduce(minTtl, undefined) : undefined };
}

/**
 * Finds the instances of one service: SRV records first (targets resolved through the
 * additional section, else A/AAAA queries), and A/AAAA records with the configured port
 * when there is no SRV record. Server failures reject; bad records are skipped and listed.
 */
export async function lookupService(resolver: Resolver, settings: DnsSettings, service: string, signal?: AbortSignal): Promise<LookupResult> {
  const srvName = settings.srvName(service);
  const srv = await resolver.resolve(srvName, 'SRV', signal);
  const records = srv.header.rcode === RCODE.NOERROR ? srv.answers.filter((r) => r.type === TYPE.SRV) : [];
  if (records.length > 0) return fromSrv(resolver, settings, service, srvName, srv, records, signal);

  const hostName = settings.hostName(service);
  // Same name, and it does not exist: there are no address records either.
  if (srv.header.rcode === RCODE.NXDOMAIN && bare(hostName) === bare(srvName)) {
    return { instances: [], ttlSeconds: negativeTtl(srv), problems: [] };
  }
  const addresses = await resolveAddresses(resolver, hostName, signal);
  const port = settings.fallbackPort(service);
  if (addresses.list.length === 0) return { instances: [], ttlSeconds: minTtl(negativeTtl(srv), addresses.negativeTtl), problems: [] };
  if (port === undefined) {
    const problem = new InvalidRecordError(
      hostName,
      `has A/AAAA records but there is no SRV record ${srvName} to give a port: set fallbackPort for "${service}" to use them`,
    );
    return { instances: [], ttlSeconds: addresses.ttl, problems: [problem] };
  }
  const instances = addresses.list.map((address) => createInstance({ id: `${address}:${port}`, name: service, address, port }));
  return { instances, ttlSeconds: addresses.ttl, problems: [] };
}

async function fromSrv(
  resolver: Resolver,
  settings: DnsSettings,
  service: string,
  srvName: string,
  srv: Packet,
  records: Resource[],
  signal: AbortSignal | undefined,
): Promise<LookupResult> {
  // Records dns2 could not decode but stepped over (a bad RDATA): skipped, and said so.
  const problems = srv.errors
    .filter((e) => e.recovered)
    .map((e) => new InvalidRecordError(`${srvName} ${e.section ?? 'record'}[${e.index ?? '?'}]`, `undecodable record (${e.message})`));
  let ttl: number | undefined;
  // RFC 2782: a lone target "." means the service is decidedly not available here.
  const usable = records.filter((r) => bare(r.target ?? '') !== '');
  const byTarget = new Map<string, Addresses>();
  for (const r of usable) {
    const target = bare(r.target!);
    if (byTarget.has(target)) continue;
    const additional = collect(srv.additionals, (a) => bare(a.name) === target);
    if (additional.list.length > 0) byTarget.set(target, additional);
  }
  const missing = [...new Set(usable.map((r) => bare(r.target!)).filter((t) => !byTarget.has(t)))];
  // Each target on its own: one whose lookup fails (an authoritative-only server answers
  // REFUSED for names outside its zones) is skipped and reported; the others are served.
  const resolved = await Promise.allSettled(missing.map((target) => resolveAddresses(resolver, target, signal)));
  const failedTargets = new Map<string, unknown>();
  missing.forEach((target, i) => {
    const settled = resolved[i]!;
    if (settled.status === 'fulfilled') byTarget.set(target, settled.value);
    else failedTargets.set(target, settled.reason);
  });
  for (const reason of failedTargets.values()) if (isStop(reason)) throw reason;

  const chosen = new Map<string, { instance: Instance; priority: number; ttl: number | undefined }>();
  for (const r of usable) {
    const target = bare(r.target!);
    const key = `${srvName} ${r.priority} ${r.weight} ${r.port} ${target}`;
    if (!isValidPort(r.port)) {
      problems.push(new InvalidRecordError(key, `port ${r.port} is not a usable port`));
      continue;
    }
    const failure = failedTargets.get(target);
    if (failure !== undefined) {
      problems.push(new InvalidRecordError(key, `the address lookup of target ${target} failed: ${(failure as Error).message}`, { cause: failure }));
      continue;
    }
    const addresses = byTarget.get(target)!;
    const address = addresses.list[0];
    if (address === undefined) {
      problems.push(new InvalidRecordError(key, `target ${target} has no A or AAAA record`));
      continue;
    }
    const id = `${target}:${r.port}`;
    const priority = r.priority ?? 0;
    const previous = chosen.get(id);
    if (previous && previous.priority <= priority) continue;
    const instance = createInstance({
      id,
      name: service,
      address,
      port: r.port,
      weight: r.weight ?? 0,
      metadata: { [PRIORITY_KEY]: String(priority), [TARGET_KEY]: target },
    });
    chosen.set(id, { instance, priority, ttl: minTtl(r.ttl, addresses.ttl) });
  }

  // Nothing to offer and a target lookup that did not get a definite answer (a timeout, a
  // SERVFAIL, as opposed to REFUSED): the server is failing, so keep the last good snapshot.
  const outage = [...failedTargets.values()].find((reason) => !isRefusal(reason));
  if (chosen.size === 0 && outage !== undefined) throw outage;

  let offered = [...chosen.values()];
  if (settings.priorities === 'lowest' && offered.length > 0) {
    const lowest = Math.min(...offered.map((c) => c.priority));
    offered = offered.filter((c) => c.priority === lowest);
  }
  for (const c of offered) ttl = minTtl(ttl, c.ttl);
  if (offered.length === 0) for (const r of records) ttl = minTtl(ttl, r.ttl);
  return { instances: offered.map((c) => c.instance), ttlSeconds: ttl, problems };
}
