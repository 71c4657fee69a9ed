export { KubernetesApiDouble, type KubernetesApiDoubleOptions, type KubeApiRequest, type WatchScript } from './kubernetes-api-double.js';
export { endpointSlice, pod, type EndpointInit, type EndpointPortInit, type EndpointSliceInit, type PodInit } from './fixtures.js';
export { kubeconfigYaml, type KubeconfigInit } from './kubeconfig.js';
export { parseLabelSelector, type LabelMatcher } from './label-selector.js';
export type { KubeObject, ObjectMeta, ResourceName } from './resources.js';
