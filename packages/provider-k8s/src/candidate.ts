import type { InvalidRecordError, Instance } from '@disco/core';

/**
 * What an endpoint is, before the provider's policy decides whether to offer it:
 * `ready`, `unready` (not ready, not terminating) or `terminating` (terminating but serving).
 */
export type EndpointState = 'ready' | 'unready' | 'terminating';

export interface Candidate {
  /** Built with `healthy: state === 'ready'`. */
  readonly instance: Instance;
  readonly state: EndpointState;
}

/** The candidates one Kubernetes object yields, and the problems found on the way. */
export interface MappedObject {
  readonly candidates: readonly Candidate[];
  readonly problems: readonly InvalidRecordError[];
}

export type ObjectMapper<T> = (object: T) => MappedObject;
