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
  deletionGracePeriodSeconds?: number;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type ResourceName = 'endpointslices' | 'pods' | 'services' | 'namespaces';

export interface ResourceType {
  readonly plural: ResourceName;
  readonly singular: string;
  readonly kind: string;
  /** API group ('' for the core group). */
  readonly group: string;
  readonly version: 'v1';
  readonly apiVersion: string;
  /** URL prefix of the API group: `/api/v1` or `/apis/<group>/<version>`. */
  readonly prefix: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Field labels a fieldSelector may use (the API server's field label conversion for the kind). */
  readonly fieldLabels: readonly string[];
  /** Subresources served (`status`). */
  readonly subresources: readonly string[];
  /** What `kubectl get` calls it in messages: `endpointslices.discovery.k8s.io`, `pods`. */
  readonly qualified: string;
  /**
   * How an unknown field label is refused: kinds with their own conversion function (Pod,
   * Namespace) say `field label not supported: <label>`; the others go through
   * runtime.DefaultMetaV1FieldSelectorConversion.
   */
  readonly fieldLabelConversion: 'own' | 'default';
}

// deletecollection is not implemented, so not advertised (a client that reads discovery never tries it).
const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;
export const resourceVerbs: readonly string[] = verbs;

function type(plural: ResourceName, singular: string, kind: string, group: string, namespaced: boolean, shortNames: string[], fieldLabels: string[], subresources: string[] = []): ResourceType {
  const apiVersion = group === '' ? 'v1' : `${group}/v1`;
  return {
    plural,
    singular,
    kind,
    group,
    version: 'v1',
    apiVersion,
    prefix: group === '' ? '/api/v1' : `/apis/${group}/v1`,
    namespaced,
    shortNames,
    fieldLabels,
    subresources,
    qualified: group === '' ? plural : `${plural}.${group}`,
    fieldLabelConversion: kind === 'Pod' || kind === 'Namespace' ? 'own' : 'default',
  };
}

export const resourceTypes: readonly ResourceType[] = [
  type('endpointslices', 'endpointslice', 'EndpointSlice', 'discovery.k8s.io', true, [], ['metadata.name', 'metadata.namespace']),
  // Pods: the field labels of pkg/apis/core/v1/conversion.go that the double can evaluate.
  type('pods', 'pod', 'Pod', '', true, ['po'], ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'], ['status']),
  type('services', 'service', 'Service', '', true, ['svc'], ['metadata.name', 'metadata.namespace'], ['status']),
  type('namespaces', 'namespace', 'Namespace', '', false, ['ns'], ['metadata.name', 'status.phase'], ['status']),
];

export function resourceType(plural: ResourceName): ResourceType {
  return resourceTypes.find((r) => r.plural === plural)!;
}
