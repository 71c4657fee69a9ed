import { createInstance, InvalidRecordError, isValidAddress } from '@disco/core';
import { isIPv4, isIPv6 } from 'node:net';
import type { EndpointState, MappedObject, ObjectMapper } from './candidate.js';
import { FieldProblem, objectKey, optionalInteger, optionalList, optionalRecord, optionalText } from './fields.js';
import type { KubeItem } from './kube-api.js';
import type { AddressType } from './options.js';
import { selectPort } from './port-selector.js';

export interface PodMapperOptions {
  readonly service: string;
  readonly port: string | number | undefined;
  readonly addressType: AddressType;
}

const none: MappedObject = { candidates: [], problems: [] };

/**
 * Maps one Pod (as the API sent it) to a candidate: its IP (of the wanted family), readiness
 * from the Ready condition, terminating once it has a deletionTimestamp. Pods without an IP
 * yet, and pods that finished (Succeeded / Failed), yield nothing. The instance id is the pod
 * name. A field of the wrong type makes the pod an invalid record.
 */
export function podMapper(options: PodMapperOptions): ObjectMapper<KubeItem> {
  return (pod) => {
    const key = objectKey(pod);
    try {
      return readPod(pod, key, options);
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      return { candidates: [], problems: [new InvalidRecordError(key, error.message)] };
    }
  };
}

function readPod(pod: KubeItem, key: string, options: PodMapperOptions): MappedObject {
  const metadata = optionalRecord(pod.metadata, 'metadata') ?? {};
  const name = optionalText(metadata.name, 'metadata.name');
  if (name === undefined) throw new FieldProblem('metadata.name is missing');
  const namespace = optionalText(metadata.namespace, 'metadata.namespace') ?? '';
  const status = optionalRecord(pod.status, 'status') ?? {};
  const spec = optionalRecord(pod.spec, 'spec') ?? {};
  const phase = optionalText(status.phase, 'status.phase');
  if (phase === 'Succeeded' || phase === 'Failed') return none;
  const podIP = optionalText(status.podIP, 'status.podIP');
  const listed = optionalList(status.podIPs, 'status.podIPs').map((entry, i) => optionalText(optionalRecord(entry, `status.podIPs[${i}]`)?.ip, `status.podIPs[${i}].ip`));
  const ips = listed.length > 0 ? listed.filter((ip): ip is string => ip !== undefined) : podIP ? [podIP] : [];
  const address = options.addressType === 'IPv4' ? ips.find((ip) => isIPv4(ip)) : options.addressType === 'IPv6' ? ips.find((ip) => isIPv6(ip)) : (podIP ?? ips[0]);
  if (address === undefined) return none;
  if (!isValidAddress(address)) return { candidates: [], problems: [new InvalidRecordError(key, `pod IP ${JSON.stringify(address)} is not an address`)] };
  const declared = optionalList(spec.containers, 'spec.containers').flatMap((entry, c) =>
    optionalList(optionalRecord(entry, `spec.containers[${c}]`)?.ports, `spec.containers[${c}].ports`).map((p, i) => {
      const port = optionalRecord(p, `spec.containers[${c}].ports[${i}]`) ?? {};
      return { name: optionalText(port.name, `spec.containers[${c}].ports[${i}].name`), port: optionalInteger(port.containerPort, `spec.containers[${c}].ports[${i}].containerPort`) };
    }),
  );
  const port = selectPort(declared, options.port, true);
  if (typeof port === 'string') return { candidates: [], problems: [new InvalidRecordError(key, `the pod ${port}`)] };
  const ready = optionalList(status.conditions, 'status.conditions').some((entry) => {
    const condition = optionalRecord(entry, 'status.conditions[]') ?? {};
    return condition.type === 'Ready' && condition.status === 'True';
  });
  const terminating = metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null;
  if (terminating && !ready) return none;
  const state: EndpointState = terminating ? 'terminating' : ready ? 'ready' : 'unready';
  const labels = optionalRecord(metadata.labels, 'metadata.labels') ?? {};
  const nodeName = optionalText(spec.nodeName, 'spec.nodeName');
  const meta: Record<string, string> = { 'k8s.namespace': namespace, 'k8s.pod': name };
  if (nodeName) meta['k8s.node'] = nodeName;
  if (terminating) meta['k8s.terminating'] = 'true';
  const instance = createInstance({
    id: name,
    name: options.service,
    version: optionalText(labels['app.kubernetes.io/version'], 'metadata.labels["app.kubernetes.io/version"]'),
    address,
    port,
    metadata: meta,
    healthy: state === 'ready',
  });
  return { candidates: [{ instance, state }], problems: [] };
}
