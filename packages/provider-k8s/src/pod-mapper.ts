import { createInstance, InvalidRecordError, isValidAddress } from '@disco/core';
import type { V1Pod } from '@kubernetes/client-node';
import { isIPv4, isIPv6 } from 'node:net';
import type { EndpointState, MappedObject, ObjectMapper } from './candidate.js';
import type { AddressType } from './options.js';
import { selectPort } from './port-selector.js';

export interface PodMapperOptions {
  readonly service: string;
  readonly port: string | number | undefined;
  readonly addressType: AddressType;
}

const none: MappedObject = { candidates: [], problems: [] };

/**
 * Maps one Pod to a candidate: its IP (of the wanted family), readiness from the Ready
 * condition, terminating once it has a deletionTimestamp. Pods without an IP yet, and pods
 * that finished (Succeeded / Failed), yield nothing. The instance id is the pod name.
 */
export function podMapper(options: PodMapperOptions): ObjectMapper<V1Pod> {
  return (pod) => {
    const name = pod.metadata?.name ?? '?';
    const namespace = pod.metadata?.namespace ?? '';
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return none;
    const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
    const address =
      options.addressType === 'IPv4' ? ips.find((ip) => isIPv4(ip)) : options.addressType === 'IPv6' ? ips.find((ip) => isIPv6(ip)) : (pod.status?.podIP ?? ips[0]);
    if (address === undefined) return none;
    const key = `${namespace}/${name}`;
    if (!isValidAddress(address)) return { candidates: [], problems: [new InvalidRecordError(key, `pod IP ${JSON.stringify(address)} is not an address`)] };
    const declared = (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => ({ name: p.name, port: p.containerPort })));
    const port = selectPort(declared, options.port, true);
    if (typeof port === 'string') return { candidates: [], problems: [new InvalidRecordError(key, `the pod ${port}`)] };
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const terminating = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
    if (terminating && !ready) return none;
    const state: EndpointState = terminating ? 'terminating' : ready ? 'ready' : 'unready';
    const metadata: Record<string, string> = { 'k8s.namespace': namespace, 'k8s.pod': name };
    if (pod.spec?.nodeName) metadata['k8s.node'] = pod.spec.nodeName;
    if (terminating) metadata['k8s.terminating'] = 'true';
    const instance = createInstance({
      id: name,
      name: options.service,
      version: pod.metadata?.labels?.['app.kubernetes.io/version'],
      address,
      port,
      metadata,
      healthy: state === 'ready',
    });
    return { candidates: [{ instance, state }], problems: [] };
  };
}
