export { KubernetesApiDouble, type DoubleResponse, type KubernetesApiDoubleOptions, type KubeApiRequest, type WatchScript } from './kubernetes-api-double.js';
export { endpointSlice, pod, type EndpointInit, type EndpointPortInit, type EndpointSliceInit, type PodInit } from './fixtures.js';
export { kubeconfigYaml, type KubeconfigInit } from './kubeconfig.js';
export { parseLabelSelector, type LabelMatcher } from './label-selector.js';
export { parseFieldSelector, type FieldMatcher } from './field-selector.js';
export { applyPatch, jsonPatch, mergePatch, strategicMerge } from './patch.js';
export type { ConnectionStats as KubeConnectionStats } from './https-server.js';
export type { KubeObject, ObjectMeta, ResourceName } from './resources.js';
