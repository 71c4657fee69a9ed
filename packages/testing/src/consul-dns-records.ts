import type { DnsmasqRecords } from './dnsmasq-launcher.js';

export interface ConsulDnsInstance {
  /** IPv4 address. */
  address: string;
  port: number;
  /** SRV weight; Consul's default is 1. */
  weight?: number;
  /** SRV priority; Consul always answers 1. */
  priority?: number;
}

/**
 * The records a Consul agent's DNS interface serves for `<service>.service.consul`: one SRV
 * record per passing instance, whose target `<hex of the IPv4>.addr.<dc>.consul` carries the
 * instance's address. Serve them with `Dnsmasq.start(records, { domains: ['consul'] })`.
 */
export function consulDnsRecords(service: string, instances: readonly ConsulDnsInstance[], datacenter = 'dc1'): DnsmasqRecords {
  const target = (address: string) => {
    const octets = address.split('.').map(Number);
    if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new TypeError(`consulDnsRecords: ${address} is not an IPv4 address`);
    return `${octets.map((o) => o.toString(16).padStart(2, '0')).join('')}.addr.${datacenter}.consul`;
  };
  return {
    srv: instances.map((i) => ({ name: `${service}.service.consul`, target: target(i.address), port: i.port, priority: i.priority ?? 1, weight: i.weight ?? 1 })),
    hosts: [...new Set(instances.map((i) => i.address))].map((address) => ({ name: target(address), addresses: [address] })),
  };
}
