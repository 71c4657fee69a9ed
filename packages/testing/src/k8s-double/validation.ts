// What the API server checks before it stores an object of the kinds the double serves
// (pkg/apis/{core,discovery}/validation, after defaulting), reduced to the rules a client
// can run into: names, labels, required fields, enumerations, ranges and immutable fields.
// Each failure is a field error; the router answers 422 Invalid with all of them.
import { isIPv4, isIPv6 } from 'node:net';
import type { FieldError } from './status.js';
import type { KubeObject, ResourceName } from './resources.js';

type Fields = Record<string, unknown>;
const record = (value: unknown): Fields | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const labelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const subdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const dns1035Message =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const labelValueMessage =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const qualifiedNameMessage =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

function label(errors: FieldError[], field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length > 63 || !dns1123Label.test(value)) errors.push({ type: 'Invalid', field, value, detail: typeof value === 'string' && value.length > 63 ? 'must be no more than 63 characters' : labelMessage });
}

function labels(errors: FieldError[], field: string, value: unknown): void {
  const map = record(value);
  if (!map) return;
  for (const [key, v] of Object.entries(map)) {
    const slash = key.lastIndexOf('/');
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    if (name.length > 63 || !qualifiedNamePart.test(name) || (prefix !== undefined && (prefix.length > 253 || !dns1123Subdomain.test(prefix)))) {
      errors.push({ type: 'Invalid', field, value: key, detail: qualifiedNameMessage });
    }
    if (typeof v !== 'string' || v.length > 63 || !labelValue.test(v)) errors.push({ type: 'Invalid', field: `${field}`, value: v, detail: labelValueMessage });
  }
}

function meta(errors: FieldError[], object: KubeObject, nameRule: 'label' | 'subdomain' | 'dns1035'): void {
  const name = object.metadata.name;
  if (typeof name !== 'string' || name === '') {
    errors.push({ type: 'Required', field: 'metadata.name', detail: 'name or generateName is required' });
  } else {
    const [rule, message, max] = nameRule === 'label' ? [dns1123Label, labelMessage, 63] : nameRule === 'dns1035' ? [dns1035Label, dns1035Message, 63] : [dns1123Subdomain, subdomainMessage, 253];
    if (name.length > max) errors.push({ type: 'Invalid', field: 'metadata.name', value: name, detail: `must be no more than ${max} characters` });
    else if (!rule.test(name)) errors.push({ type: 'Invalid', field: 'metadata.name', value: name, detail: message });
  }
  labels(errors, 'metadata.labels', object.metadata.labels);
}

const protocols = ['SCTP', 'TCP', 'UDP'];
const supported = (values: string[]) => `supported values: ${values.map((v) => JSON.stringify(v)).join(', ')}`;

function endpointSlice(errors: FieldError[], slice: KubeObject): void {
  meta(errors, slice, 'subdomain');
  const addressType = slice.addressType;
  const types = ['FQDN', 'IPv4', 'IPv6'];
  if (addressType === undefined || addressType === '') errors.push({ type: 'Required', field: 'addressType' });
  else if (typeof addressType !== 'string' || !types.includes(addressType)) errors.push({ type: 'NotSupported', field: 'addressType', value: addressType, detail: supported(types) });
  const endpoints = list(slice.endpoints);
  if (endpoints.length > 1000) errors.push({ type: 'TooMany', field: 'endpoints', value: endpoints.length, detail: 'must have at most 1000 items' });
  else
    endpoints.forEach((entry, i) => {
      const endpoint = record(entry) ?? {};
      const path = `endpoints[${i}].addresses`;
      const addresses = list(endpoint.addresses);
      if (addresses.length === 0) errors.push({ type: 'Required', field: path, detail: 'must contain at least 1 address' });
      else if (addresses.length > 100) errors.push({ type: 'TooMany', field: path, value: addresses.length, detail: 'must have at most 100 items' });
      addresses.forEach((address, j) => {
        if (addressType === 'IPv4' && !(typeof address === 'string' && isIPv4(address))) errors.push({ type: 'Invalid', field: `${path}[${j}]`, value: address, detail: 'must be a valid IPv4 address' });
        if (addressType === 'IPv6' && !(typeof address === 'string' && isIPv6(address))) errors.push({ type: 'Invalid', field: `${path}[${j}]`, value: address, detail: 'must be a valid IPv6 address' });
      });
      if (endpoint.hostname !== undefined && endpoint.hostname !== null) label(errors, `endpoints[${i}].hostname`, endpoint.hostname);
    });
  const names = new Set<string>();
  list(slice.ports).forEach((entry, i) => {
    const port = record(entry) ?? {};
    const name = typeof port.name === 'string' ? port.name : '';
    if (name !== '') label(errors, `ports[${i}].name`, name);
    if (names.has(name)) errors.push({ type: 'Duplicate', field: `ports[${i}].name`, value: name });
    names.add(name);
    if (!protocols.includes(String(port.protocol))) errors.push({ type: 'NotSupported', field: `ports[${i}].protocol`, value: port.protocol, detail: supported(protocols) });
    if (port.port !== undefined && port.port !== null && !(Number.isInteger(port.port) && (port.port as number) >= 0 && (port.port as number) <= 65535)) {
      errors.push({ type: 'Invalid', field: `ports[${i}].port`, value: port.port, detail: 'must be between 0 and 65535, inclusive' });
    }
  });
}

function validPort(errors: FieldError[], field: string, value: unknown): void {
  if (!(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535)) errors.push({ type: 'Invalid', field, value, detail: 'must be between 1 and 65535, inclusive' });
}

function service(errors: FieldError[], svc: KubeObject): void {
  meta(errors, svc, 'dns1035');
  const spec = record(svc.spec) ?? {};
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (!types.includes(String(spec.type))) errors.push({ type: 'NotSupported', field: 'spec.type', value: spec.type, detail: supported(types) });
  const ports = list(spec.ports);
  if (ports.length === 0 && spec.type !== 'ExternalName' && spec.clusterIP !== 'None') errors.push({ type: 'Required', field: 'spec.ports' });
  const names = new Set<string>();
  ports.forEach((entry, i) => {
    const port = record(entry) ?? {};
    const name = typeof port.name === 'string' ? port.name : '';
    if (ports.length > 1 && name === '') errors.push({ type: 'Required', field: `spec.ports[${i}].name` });
    else if (name !== '') label(errors, `spec.ports[${i}].name`, name);
    if (name !== '' && names.has(name)) errors.push({ type: 'Duplicate', field: `spec.ports[${i}].name`, value: name });
    names.add(name);
    validPort(errors, `spec.ports[${i}].port`, port.port);
    if (!protocols.includes(String(port.protocol))) errors.push({ type: 'NotSupported', field: `spec.ports[${i}].protocol`, value: port.protocol, detail: supported(protocols) });
  });
  labels(errors, 'spec.selector', spec.selector);
}

function pod(errors: FieldError[], p: KubeObject): void {
  meta(errors, p, 'subdomain');
  const spec = record(p.spec) ?? {};
  const containers = list(spec.containers);
  if (containers.length === 0) errors.push({ type: 'Required', field: 'spec.containers' });
  const names = new Set<string>();
  containers.forEach((entry, i) => {
    const container = record(entry) ?? {};
    if (container.name === undefined || container.name === '') errors.push({ type: 'Required', field: `spec.containers[${i}].name` });
    else {
      label(errors, `spec.containers[${i}].name`, container.name);
      if (names.has(String(container.name))) errors.push({ type: 'Duplicate', field: `spec.containers[${i}].name`, value: container.name });
      names.add(String(container.name));
    }
    if (typeof container.image !== 'string' || container.image.trim() === '') errors.push({ type: 'Required', field: `spec.containers[${i}].image` });
    list(container.ports).forEach((portEntry, j) => {
      const port = record(portEntry) ?? {};
      validPort(errors, `spec.containers[${i}].ports[${j}].containerPort`, port.containerPort);
      if (!protocols.includes(String(port.protocol))) errors.push({ type: 'NotSupported', field: `spec.containers[${i}].ports[${j}].protocol`, value: port.protocol, detail: supported(protocols) });
    });
  });
  const policies = ['Always', 'Never', 'OnFailure'];
  if (!policies.includes(String(spec.restartPolicy))) errors.push({ type: 'NotSupported', field: 'spec.restartPolicy', value: spec.restartPolicy, detail: supported(policies) });
}

function namespace(errors: FieldError[], ns: KubeObject): void {
  meta(errors, ns, 'label');
}

/** Field errors of `object` (already defaulted) for a create, or for an update of `old`. */
export function validate(resource: ResourceName, object: KubeObject, old?: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (resource === 'endpointslices') endpointSlice(errors, object);
  else if (resource === 'services') service(errors, object);
  else if (resource === 'pods') pod(errors, object);
  else namespace(errors, object);
  if (old) {
    const immutable = (field: string, now: unknown, before: unknown) => {
      if (JSON.stringify(now) !== JSON.stringify(before)) errors.push({ type: 'Invalid', field, value: now, detail: 'field is immutable' });
    };
    if (resource === 'endpointslices') immutable('addressType', object.addressType, old.addressType);
    if (resource === 'services') immutable('spec.clusterIP', record(object.spec)?.clusterIP, record(old.spec)?.clusterIP);
    if (resource === 'pods') {
      // ValidatePodUpdate: only images (and a few scheduling fields) may change.
      const withoutImages = (spec: unknown) => {
        const s = structuredClone(record(spec) ?? {});
        for (const c of list(s.containers)) delete (record(c) ?? {}).image;
        delete s.activeDeadlineSeconds;
        delete s.tolerations;
        return JSON.stringify(s);
      };
      if (withoutImages(object.spec) !== withoutImages(old.spec)) {
        errors.push({
          type: 'Forbidden',
          field: 'spec',
          detail:
            'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        });
      }
    }
  }
  return errors;
}
