// Builders for the objects tests feed the double: EndpointSlices and Pods shaped like the
// ones the EndpointSlice controller and the kubelet write.
import { isIPv6 } from 'node:net';
import type { KubeObject } from './resources.js';

export interface EndpointInit {
  /** One address or several (the API allows up to 100; consumers use the first). */
  address: string | string[];
  /** Omitted when undefined, which the API defines as true. */
  ready?: boolean;
  /** Omitted when undefined, which the API defines as true. */
  serving?: boolean;
  /** Omitted when undefined, which the API defines as false. */
  terminating?: boolean;
  zone?: string;
  nodeName?: string;
  hostname?: string;
  /** Name of the Pod behind the endpoint (becomes `targetRef`). */
  pod?: string;
}

export interface EndpointPortInit {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface EndpointSliceInit {
  name: string;
  /** The Service it belongs to: becomes the `kubernetes.io/service-name` label. */
  service: string;
  namespace?: string;
  /** Defaults to IPv6 when the first address is one, else IPv4. */
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  ports?: EndpointPortInit[];
  endpoints: EndpointInit[];
  labels?: Record<string, string>;
}

export function endpointSlice(init: EndpointSliceInit): KubeObject {
  const first = init.endpoints[0]?.address;
  const firstAddress = Array.isArray(first) ? first[0] : first;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: init.name,
      namespace: init.namespace ?? 'default',
      labels: { 'kubernetes.io/service-name': init.service, 'endpointslice.kubernetes.io/managed-by': 'disco-testing', ...init.labels },
    },
    addressType: init.addressType ?? (firstAddress && isIPv6(firstAddress) ? 'IPv6' : 'IPv4'),
    ports: (init.ports ?? [{ name: 'http', port: 8080 }]).map((p) => ({ protocol: 'TCP', ...p })),
    endpoints: init.endpoints.map((e) => {
      const conditions: Record<string, boolean> = {};
      if (e.ready !== undefined) conditions.ready = e.ready;
      if (e.serving !== undefined) conditions.serving = e.serving;
      if (e.terminating !== undefined) conditions.terminating = e.terminating;
      return {
        addresses: Array.isArray(e.address) ? e.address : [e.address],
        conditions,
        ...(e.zone !== undefined && { zone: e.zone }),
        ...(e.nodeName !== undefined && { nodeName: e.nodeName }),
        ...(e.hostname !== undefined && { hostname: e.hostname }),
        ...(e.pod !== undefined && { targetRef: { kind: 'Pod', name: e.pod, namespace: init.namespace ?? 'default' } }),
      };
    }),
  };
}

export interface PodInit {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** Pod IP; a pod still scheduling has none. */
  ip?: string;
  /** All pod IPs (dual stack); defaults to `[ip]`. */
  ips?: string[];
  /** The Ready condition; default true. */
  ready?: boolean;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  nodeName?: string;
  zone?: string;
  /** Sets `metadata.deletionTimestamp` (the pod is terminating). */
  deleting?: boolean;
}

export function pod(init: PodInit): KubeObject {
  const ready = init.ready ?? true;
  const ips = init.ips ?? (init.ip ? [init.ip] : []);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: init.name,
      namespace: init.namespace ?? 'default',
      labels: { ...init.labels },
      ...(init.zone !== undefined && { annotations: { 'topology.kubernetes.io/zone': init.zone } }),
      ...(init.deleting && { deletionTimestamp: new Date().toISOString() }),
    },
    spec: {
      ...(init.nodeName !== undefined && { nodeName: init.nodeName }),
      containers: [{ name: 'app', image: 'example/app:1', ports: (init.ports ?? [{ name: 'http', containerPort: 8080 }]).map((p) => ({ protocol: 'TCP', ...p })) }],
    },
    status: {
      phase: init.phase ?? 'Running',
      ...(init.ip !== undefined && { podIP: init.ip }),
      podIPs: ips.map((ip) => ({ ip })),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}
