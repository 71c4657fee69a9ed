// What the API server fills in before validation (pkg/apis/*/v1/defaults.go) and what each
// kind's strategy resets on create (a new pod's status is the API server's, not the manifest's).
import type { KubeObject, ResourceName } from './resources.js';

type Fields = Record<string, unknown>;
const record = (value: unknown): Fields | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined);
const each = (value: unknown, fn: (item: Fields) => void) => {
  if (Array.isArray(value)) for (const item of value) if (record(item)) fn(item as Fields);
};

let nextClusterIP = 1;

/** Fills defaults in place (on a copy the caller owns). */
export function applyDefaults(resource: ResourceName, object: KubeObject): void {
  const o = object as Fields;
  if (resource === 'endpointslices') {
    each(o.ports, (port) => {
      port.name ??= '';
      port.protocol ??= 'TCP';
    });
    return;
  }
  if (resource === 'services') {
    const spec = (record(o.spec) ?? (o.spec = {})) as Fields;
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    if (spec.type !== 'ExternalName') {
      spec.internalTrafficPolicy ??= 'Cluster';
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.ipFamilies ??= ['IPv4'];
    }
    each(spec.ports, (port) => {
      port.protocol ??= 'TCP';
      port.targetPort ??= port.port;
    });
    return;
  }
  if (resource === 'pods') {
    const spec = (record(o.spec) ?? (o.spec = {})) as Fields;
    spec.restartPolicy ??= 'Always';
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.schedulerName ??= 'default-scheduler';
    spec.securityContext ??= {};
    spec.enableServiceLinks ??= true;
    each(spec.containers, (container) => {
      container.terminationMessagePath ??= '/dev/termination-log';
      container.terminationMessagePolicy ??= 'File';
      const image = typeof container.image === 'string' ? container.image : '';
      container.imagePullPolicy ??= /:latest$/.test(image) || !/:[^/]+$/.test(image) ? 'Always' : 'IfNotPresent';
      container.resources ??= {};
      each(container.ports, (port) => {
        port.protocol ??= 'TCP';
      });
    });
    return;
  }
  const spec = (record(o.spec) ?? (o.spec = {})) as Fields;
  spec.finalizers ??= ['kubernetes'];
  object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name };
}

/** PrepareForCreate: the parts of a new object the server owns. */
export function prepareForCreate(resource: ResourceName, object: KubeObject): void {
  const o = object as Fields;
  if (resource === 'pods') o.status = { phase: 'Pending', qosClass: 'BestEffort' };
  else if (resource === 'services') {
    o.status = { loadBalancer: {} };
    const spec = record(o.spec)!;
    if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
      const n = nextClusterIP++;
      spec.clusterIP = `10.96.${(n >> 8) & 255}.${n & 255}`;
    }
    if (spec.clusterIP !== undefined) spec.clusterIPs ??= [spec.clusterIP];
  } else if (resource === 'namespaces') o.status = { phase: 'Active' };
}
