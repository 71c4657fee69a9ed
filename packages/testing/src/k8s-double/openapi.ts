// The OpenAPI v2 document the double serves at /openapi/v2: definitions of the kinds it serves,
// tagged with x-kubernetes-group-version-kind (how kubectl finds a kind's schema) and the patch
// strategies and merge keys `kubectl apply` computes strategic merge patches with. kubectl
// (client-go's discovery) asks for it as protobuf (gnostic's openapi_v2.Document); JSON is
// served to everyone else. Fields the double does not model in detail are typed as "anything",
// so a valid manifest is never refused; an unknown top-level field is, as kubectl does.

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', format: 'int32' };
const int64: Schema = { type: 'integer', format: 'int64' };
const bool: Schema = { type: 'boolean' };
const any: Schema = {};
const anyObject: Schema = { type: 'object' };
const strings: Schema = { type: 'array', items: str };
const stringMap: Schema = { type: 'object', additionalProperties: str };
const time: Schema = { type: 'string', format: 'date-time' };
const intOrString: Schema = { type: 'string', format: 'int-or-string' };
const arrayOf = (items: Schema, merge?: { key?: string; strategy?: string }): Schema => ({
  type: 'array',
  items,
  ...(merge?.key !== undefined && { 'x-kubernetes-patch-merge-key': merge.key }),
  ...(merge?.strategy !== undefined && { 'x-kubernetes-patch-strategy': merge.strategy }),
});
const object = (properties: Record<string, Schema>, required?: string[], extra: Schema = {}): Schema => ({ type: 'object', properties, ...(required && { required }), ...extra });
const loose = (names: string[], typed: Record<string, Schema> = {}): Record<string, Schema> => Object.fromEntries(names.map((n) => [n, typed[n] ?? any]));
const gvk = (group: string, kind: string) => ({ 'x-kubernetes-group-version-kind': [{ group, kind, version: 'v1' }] });

const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const core = 'io.k8s.api.core.v1';
const disc = 'io.k8s.api.discovery.v1';
const top = (kind: string, group: string, spec: Record<string, Schema>, required?: string[]): Schema =>
  object({ apiVersion: str, kind: str, metadata: ref(meta), ...spec }, required, gvk(group, kind));

export const definitions: Record<string, Schema> = {
  [meta]: object({
    annotations: stringMap,
    creationTimestamp: time,
    deletionGracePeriodSeconds: int64,
    deletionTimestamp: time,
    finalizers: arrayOf(str, { strategy: 'merge' }),
    generateName: str,
    generation: int64,
    labels: stringMap,
    managedFields: { type: 'array', items: anyObject },
    name: str,
    namespace: str,
    ownerReferences: arrayOf(ref('io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference'), { key: 'uid', strategy: 'merge' }),
    resourceVersion: str,
    selfLink: str,
    uid: str,
  }),
  'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference': object({ apiVersion: str, blockOwnerDeletion: bool, controller: bool, kind: str, name: str, uid: str }, ['apiVersion', 'kind', 'name', 'uid']),
  [`${core}.ObjectReference`]: object({ apiVersion: str, fieldPath: str, kind: str, name: str, namespace: str, resourceVersion: str, uid: str }),
  [`${disc}.EndpointSlice`]: top('EndpointSlice', 'discovery.k8s.io', { addressType: str, endpoints: arrayOf(ref(`${disc}.Endpoint`), {}), ports: arrayOf(ref(`${disc}.EndpointPort`)) }, ['addressType', 'endpoints']),
  [`${disc}.Endpoint`]: object(
    { addresses: strings, conditions: ref(`${disc}.EndpointConditions`), deprecatedTopology: stringMap, hints: anyObject, hostname: str, nodeName: str, targetRef: ref(`${core}.ObjectReference`), zone: str },
    ['addresses'],
  ),
  [`${disc}.EndpointConditions`]: object({ ready: bool, serving: bool, terminating: bool }),
  [`${disc}.EndpointPort`]: object({ appProtocol: str, name: str, port: int, protocol: str }),
  [`${core}.Service`]: top('Service', '', { spec: ref(`${core}.ServiceSpec`), status: anyObject }),
  [`${core}.ServiceSpec`]: object(
    loose(
      ['allocateLoadBalancerNodePorts', 'clusterIP', 'clusterIPs', 'externalIPs', 'externalName', 'externalTrafficPolicy', 'healthCheckNodePort', 'internalTrafficPolicy', 'ipFamilies', 'ipFamilyPolicy', 'loadBalancerClass', 'loadBalancerIP', 'loadBalancerSourceRanges', 'ports', 'publishNotReadyAddresses', 'selector', 'sessionAffinity', 'sessionAffinityConfig', 'trafficDistribution', 'type'],
      { clusterIP: str, ports: arrayOf(ref(`${core}.ServicePort`), { key: 'port', strategy: 'merge' }), selector: stringMap, type: str },
    ),
  ),
  [`${core}.ServicePort`]: object({ appProtocol: str, name: str, nodePort: int, port: int, protocol: str, targetPort: intOrString }, ['port']),
  [`${core}.Pod`]: top('Pod', '', { spec: ref(`${core}.PodSpec`), status: anyObject }),
  [`${core}.PodSpec`]: object(
    loose(
      [
        'activeDeadlineSeconds', 'affinity', 'automountServiceAccountToken', 'containers', 'dnsConfig', 'dnsPolicy', 'enableServiceLinks', 'ephemeralContainers', 'hostAliases', 'hostIPC', 'hostNetwork', 'hostPID', 'hostUsers', 'hostname',
        'imagePullSecrets', 'initContainers', 'nodeName', 'nodeSelector', 'os', 'overhead', 'preemptionPolicy', 'priority', 'priorityClassName', 'readinessGates', 'resourceClaims', 'restartPolicy', 'runtimeClassName', 'schedulerName',
        'schedulingGates', 'securityContext', 'serviceAccount', 'serviceAccountName', 'setHostnameAsFQDN', 'shareProcessNamespace', 'subdomain', 'terminationGracePeriodSeconds', 'tolerations', 'topologySpreadConstraints', 'volumes',
      ],
      {
        containers: arrayOf(ref(`${core}.Container`), { key: 'name', strategy: 'merge' }),
        initContainers: arrayOf(ref(`${core}.Container`), { key: 'name', strategy: 'merge' }),
        volumes: arrayOf(anyObject, { key: 'name', strategy: 'merge,retainKeys' }),
        imagePullSecrets: arrayOf(anyObject, { key: 'name', strategy: 'merge' }),
        nodeName: str,
        restartPolicy: str,
        terminationGracePeriodSeconds: int64,
      },
    ),
    ['containers'],
  ),
  [`${core}.Container`]: object(
    loose(
      ['args', 'command', 'env', 'envFrom', 'image', 'imagePullPolicy', 'lifecycle', 'livenessProbe', 'name', 'ports', 'readinessProbe', 'resizePolicy', 'resources', 'restartPolicy', 'securityContext', 'startupProbe', 'stdin', 'stdinOnce', 'terminationMessagePath', 'terminationMessagePolicy', 'tty', 'volumeDevices', 'volumeMounts', 'workingDir'],
      {
        args: strings,
        command: strings,
        env: arrayOf(anyObject, { key: 'name', strategy: 'merge' }),
        image: str,
        name: str,
        ports: arrayOf(ref(`${core}.ContainerPort`), { key: 'containerPort', strategy: 'merge' }),
        volumeMounts: arrayOf(anyObject, { key: 'mountPath', strategy: 'merge' }),
      },
    ),
    ['name'],
  ),
  [`${core}.ContainerPort`]: object({ containerPort: int, hostIP: str, hostPort: int, name: str, protocol: str }, ['containerPort']),
  [`${core}.Namespace`]: top('Namespace', '', { spec: object({ finalizers: strings }), status: anyObject }),
};

export const openApiDocument = { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.30.0' }, paths: {}, definitions };

// ---- protobuf (gnostic openapi_v2) ----------------------------------------------------

class Writer {
  readonly #parts: Buffer[] = [];

  varint(value: number): this {
    const bytes: number[] = [];
    let v = value;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.#parts.push(Buffer.from(bytes));
    return this;
  }

  bytes(field: number, data: Buffer): this {
    return this.varint((field << 3) | 2)
      .varint(data.length)
      .raw(data);
  }

  string(field: number, value: string | undefined): this {
    return value === undefined ? this : this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, write: (w: Writer) => void): this {
    const child = new Writer();
    write(child);
    return this.bytes(field, child.done());
  }

  raw(data: Buffer): this {
    this.#parts.push(data);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/** openapi.v2.Schema: _ref 1, format 2, required 19, additional_properties 21, type 22, items 23, properties 25, vendor_extension 31. */
function writeSchema(w: Writer, schema: Schema): void {
  w.string(1, schema.$ref as string | undefined);
  w.string(2, schema.format as string | undefined);
  w.string(4, schema.description as string | undefined);
  for (const name of (schema.required as string[] | undefined) ?? []) w.string(19, name);
  if (schema.additionalProperties !== undefined) w.message(21, (a) => a.message(1, (s) => writeSchema(s, schema.additionalProperties as Schema)));
  if (schema.type !== undefined) w.message(22, (t) => t.string(1, schema.type as string));
  if (schema.items !== undefined) w.message(23, (i) => i.message(1, (s) => writeSchema(s, schema.items as Schema)));
  if (schema.properties !== undefined) {
    w.message(25, (p) => {
      for (const [name, value] of Object.entries(schema.properties as Record<string, Schema>)) p.message(1, (n) => n.string(1, name).message(2, (s) => writeSchema(s, value)));
    });
  }
  for (const [name, value] of Object.entries(schema)) {
    // Vendor extensions travel as YAML text (JSON is YAML).
    if (name.startsWith('x-')) w.message(31, (n) => n.string(1, name).message(2, (a) => a.string(2, JSON.stringify(value))));
  }
}

let protobuf: Buffer | undefined;

/** openapi.v2.Document: swagger 1, info 2 (title 1, version 2), paths 8, definitions 9. */
export function openApiProtobuf(): Buffer {
  protobuf ??= new Writer()
    .string(1, openApiDocument.swagger)
    .message(2, (i) => i.string(1, openApiDocument.info.title).string(2, openApiDocument.info.version))
    .message(8, () => {})
    .message(9, (d) => {
      for (const [name, schema] of Object.entries(definitions)) d.message(1, (n) => n.string(1, name).message(2, (s) => writeSchema(s, schema)));
    })
    .done();
  return protobuf;
}

export const openApiProtobufType = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
