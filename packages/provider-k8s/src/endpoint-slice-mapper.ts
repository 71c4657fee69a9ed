import { createInstance, InvalidRecordError, isValidAddress } from '@disco/core';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { Candidate, EndpointState, MappedObject, ObjectMapper } from './candidate.js';
import type { AddressType } from './options.js';
import { selectPort } from './port-selector.js';

export interface EndpointSliceMapperOptions {
  readonly service: string;
  readonly port: string | number | undefined;
  readonly addressType: AddressType;
}

/**
 * Maps one EndpointSlice to candidates, following discovery.k8s.io/v1: the first address of
 * each endpoint; `ready` and `serving` default to true and `terminating` to false when
 * missing; a terminating endpoint that no longer serves is dropped outright. The instance id
 * is the Pod the endpoint points at (targetRef), else its hostname, else its address.
 */
export function endpointSliceMapper(options: EndpointSliceMapperOptions): ObjectMapper<V1EndpointSlice> {
  return (slice) => {
    const namespace = slice.metadata?.namespace ?? '';
    const key = `${namespace}/${slice.metadata?.name ?? '?'}`;
    const empty: MappedObject = { candidates: [], problems: [] };
    if (options.addressType !== 'any' && slice.addressType !== options.addressType) return empty;
    const endpoints: unknown = slice.endpoints ?? [];
    if (!Array.isArray(endpoints)) return { candidates: [], problems: [new InvalidRecordError(key, 'endpoints is not a list')] };
    if (endpoints.length === 0) return empty;
    const port = selectPort(slice.ports ?? [], options.port, false);
    if (typeof port === 'string') return { candidates: [], problems: [new InvalidRecordError(key, `the EndpointSlice ${port}`)] };
    const candidates: Candidate[] = [];
    const problems: InvalidRecordError[] = [];
    for (const [i, ep] of (endpoints as NonNullable<V1EndpointSlice['endpoints']>).entries()) {
      const address = ep.addresses?.[0];
      if (!isValidAddress(address)) {
        problems.push(new InvalidRecordError(key, `endpoint ${i} has no usable address (${JSON.stringify(address ?? null)})`));
        continue;
      }
      const ready = ep.conditions?.ready ?? true;
      const serving = ep.conditions?.serving ?? true;
      const terminating = ep.conditions?.terminating ?? false;
      if (terminating && !serving) continue;
      const state: EndpointState = terminating ? 'terminating' : ready ? 'ready' : 'unready';
      const pod = ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined;
      const metadata: Record<string, string> = { 'k8s.namespace': namespace };
      if (pod) metadata['k8s.pod'] = pod;
      if (ep.nodeName) metadata['k8s.node'] = ep.nodeName;
      if (ep.hostname) metadata['k8s.hostname'] = ep.hostname;
      if (terminating) metadata['k8s.terminating'] = 'true';
      const instance = createInstance({
        id: pod ?? ep.hostname ?? address,
        name: options.service,
        address,
        port,
        metadata,
        healthy: state === 'ready',
        zone: ep.zone ?? undefined,
      });
      candidates.push({ instance, state });
    }
    return { candidates, problems };
  };
}
