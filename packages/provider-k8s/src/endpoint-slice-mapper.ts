import { createInstance, InvalidRecordError, isValidAddress } from '@disco/core';
import type { Candidate, EndpointState, MappedObject, ObjectMapper } from './candidate.js';
import { describe, FieldProblem, objectKey, optionalBoolean, optionalInteger, optionalList, optionalRecord, optionalText, type Fields } from './fields.js';
import type { KubeItem } from './kube-api.js';
import type { AddressType } from './options.js';
import { selectPort, type NamedPort } from './port-selector.js';

export interface EndpointSliceMapperOptions {
  readonly service: string;
  readonly port: string | number | undefined;
  readonly addressType: AddressType;
}

const empty: MappedObject = { candidates: [], problems: [] };

function readPorts(value: unknown): NamedPort[] {
  return optionalList(value, 'ports').map((entry, i) => {
    const port = optionalRecord(entry, `ports[${i}]`) ?? {};
    return { name: optionalText(port.name, `ports[${i}].name`), port: optionalInteger(port.port, `ports[${i}].port`) };
  });
}

/**
 * Maps one EndpointSlice (as the API sent it) to candidates, following discovery.k8s.io/v1:
 * the first address of each endpoint; `ready` and `serving` default to true and `terminating`
 * to false when missing; a terminating endpoint that no longer serves is dropped outright. The
 * instance id is the Pod the endpoint points at (targetRef), else its hostname, else its
 * address. Every field is type-checked: an endpoint with a field of the wrong type is skipped
 * as an invalid record (so no instance gets a non-string id or metadata), a slice whose
 * `endpoints` or `ports` cannot be read is skipped whole.
 */
export function endpointSliceMapper(options: EndpointSliceMapperOptions): ObjectMapper<KubeItem> {
  return (slice) => {
    const key = objectKey(slice);
    const namespace = typeof slice.metadata?.namespace === 'string' ? slice.metadata.namespace : '';
    if (options.addressType !== 'any' && slice.addressType !== options.addressType) return empty;
    let endpoints: readonly unknown[];
    let ports: NamedPort[];
    try {
      endpoints = optionalList(slice.endpoints, 'endpoints');
      if (endpoints.length === 0) return empty;
      ports = readPorts(slice.ports);
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      return { candidates: [], problems: [new InvalidRecordError(key, error.message)] };
    }
    const port = selectPort(ports, options.port, false);
    if (typeof port === 'string') return { candidates: [], problems: [new InvalidRecordError(key, `the EndpointSlice ${port}`)] };
    const candidates: Candidate[] = [];
    const problems: InvalidRecordError[] = [];
    for (const [i, entry] of endpoints.entries()) {
      try {
        const candidate = readEndpoint(entry, i, namespace, port, options.service);
        if (typeof candidate === 'string') problems.push(new InvalidRecordError(key, candidate));
        else if (candidate) candidates.push(candidate);
      } catch (error) {
        if (!(error instanceof FieldProblem)) throw error;
        problems.push(new InvalidRecordError(key, `endpoint ${i}: ${error.message}`));
      }
    }
    return { candidates, problems };
  };
}

/** The endpoint's candidate; a sentence when it has no usable address; undefined when it is not offered at all. */
function readEndpoint(entry: unknown, i: number, namespace: string, port: number, service: string): Candidate | string | undefined {
  const ep: Fields = optionalRecord(entry, 'the endpoint') ?? {};
  const addresses = optionalList(ep.addresses, 'addresses');
  const address = addresses[0];
  if (typeof address !== 'string' || !isValidAddress(address)) {
    return `endpoint ${i} has no usable address (${address === undefined ? 'null' : describe(address)})`;
  }
  const conditions = optionalRecord(ep.conditions, 'conditions') ?? {};
  const ready = optionalBoolean(conditions.ready, 'conditions.ready') ?? true;
  const serving = optionalBoolean(conditions.serving, 'conditions.serving') ?? true;
  const terminating = optionalBoolean(conditions.terminating, 'conditions.terminating') ?? false;
  const targetRef = optionalRecord(ep.targetRef, 'targetRef');
  const kind = optionalText(targetRef?.kind, 'targetRef.kind');
  const target = optionalText(targetRef?.name, 'targetRef.name');
  const hostname = optionalText(ep.hostname, 'hostname');
  const nodeName = optionalText(ep.nodeName, 'nodeName');
  const zone = optionalText(ep.zone, 'zone');
  if (terminating && !serving) return undefined;
  const state: EndpointState = terminating ? 'terminating' : ready ? 'ready' : 'unready';
  const pod = kind === 'Pod' ? target : undefined;
  const metadata: Record<string, string> = { 'k8s.namespace': namespace };
  if (pod) metadata['k8s.pod'] = pod;
  if (nodeName) metadata['k8s.node'] = nodeName;
  if (hostname) metadata['k8s.hostname'] = hostname;
  if (terminating) metadata['k8s.terminating'] = 'true';
  const instance = createInstance({ id: pod ?? hostname ?? address, name: service, address, port, metadata, healthy: state === 'ready', zone });
  return { instance, state };
}
