// The `Status` object the API server answers with on failure (and sends in a watch ERROR
// event), shaped as k8s.io/apimachinery/pkg/api/errors builds it: `details` names the object
// (`group` omitted for the core group), and a 422 lists its field errors as `causes`.
import type { ResourceType } from './resources.js';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** Thrown inside the double; the router turns it into an HTTP answer or a watch ERROR event. */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): KubeStatus {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details && { details: this.details }), code: this.code };
  }
}

export const gone = (message: string) => new StatusError(410, 'Expired', message);

export const badRequest = (message: string) => new StatusError(400, 'BadRequest', message);

/** `details` for an object of a resource: the resource (plural) as `kind`, as NewNotFound writes it. */
function about(type: ResourceType, name: string): StatusDetails {
  return { name, ...(type.group !== '' && { group: type.group }), kind: type.plural };
}

export const notFound = (type: ResourceType, name: string) => new StatusError(404, 'NotFound', `${type.qualified} "${name}" not found`, about(type, name));

export const alreadyExists = (type: ResourceType, name: string) => new StatusError(409, 'AlreadyExists', `${type.qualified} "${name}" already exists`, about(type, name));

export const conflict = (type: ResourceType, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${type.qualified} "${name}": ${why}`, about(type, name));

/** A field error as k8s.io/apimachinery/pkg/util/validation/field renders it. */
export interface FieldError {
  readonly type: 'Required' | 'Invalid' | 'NotSupported' | 'Duplicate' | 'TooMany' | 'Forbidden';
  readonly field: string;
  readonly value?: unknown;
  readonly detail?: string;
}

const reasons: Record<FieldError['type'], string> = {
  Required: 'FieldValueRequired',
  Invalid: 'FieldValueInvalid',
  NotSupported: 'FieldValueNotSupported',
  Duplicate: 'FieldValueDuplicate',
  TooMany: 'FieldValueTooMany',
  Forbidden: 'FieldValueForbidden',
};

const quoted = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? 'null');

/** field.Error.ErrorBody(). */
export function errorBody(error: FieldError): string {
  const detail = error.detail ? `: ${error.detail}` : '';
  switch (error.type) {
    case 'Required':
      return `Required value${detail}`;
    case 'Forbidden':
      return `Forbidden${detail}`;
    case 'Invalid':
      return `Invalid value: ${quoted(error.value)}${detail}`;
    case 'NotSupported':
      return `Unsupported value: ${quoted(error.value)}${detail}`;
    case 'Duplicate':
      return `Duplicate value: ${quoted(error.value)}`;
    case 'TooMany':
      return `Too many: ${String(error.value)}${detail}`;
  }
}

/** 422 Invalid, as NewInvalid builds it: `<Kind>.<group> "<name>" is invalid: <field>: <body>` (several in brackets). */
export function invalid(type: ResourceType, name: string, errors: readonly FieldError[]): StatusError {
  const rendered = errors.map((e) => `${e.field}: ${errorBody(e)}`);
  const kind = type.group === '' ? type.kind : `${type.kind}.${type.group}`;
  const list = rendered.length === 1 ? rendered[0]! : `[${rendered.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${list}`, {
    name,
    ...(type.group !== '' && { group: type.group }),
    kind: type.kind,
    causes: errors.map((e) => ({ reason: reasons[e.type], message: errorBody(e), field: e.field })),
  });
}

/** NamespaceLifecycle's answer for a write into a namespace that is being deleted. */
export function namespaceTerminating(type: ResourceType, name: string, namespace: string): StatusError {
  return new StatusError(403, 'Forbidden', `${type.qualified} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
    name,
    ...(type.group !== '' && { group: type.group }),
    kind: type.plural,
    causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
  });
}
