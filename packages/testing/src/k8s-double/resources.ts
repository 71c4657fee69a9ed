// The resource types the double serves, and where they live in the API.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ResourceType {
  readonly plural: 'endpointslices' | 'pods';
  readonly kind: string;
  readonly apiVersion: string;
  /** URL prefix of the API group: `/api/v1` or `/apis/<group>/<version>`. */
  readonly prefix: string;
}

export const resourceTypes: readonly ResourceType[] = [
  { plural: 'endpointslices', kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', prefix: '/apis/discovery.k8s.io/v1' },
  { plural: 'pods', kind: 'Pod', apiVersion: 'v1', prefix: '/api/v1' },
];

export type ResourceName = ResourceType['plural'];

export function resourceType(plural: ResourceName): ResourceType {
  return resourceTypes.find((r) => r.plural === plural)!;
}
