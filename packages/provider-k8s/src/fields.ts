// Reading fields of objects as the API sent them. A stored object need not match its schema
// (etcd holds what was written), so every field is checked before it reaches an Instance:
// a field of the wrong type makes its record invalid, never a non-string id or metadata.

/** A field of the wrong type; the mapper turns it into an `invalid-record` for its object. */
export class FieldProblem extends Error {
  override name = 'FieldProblem';
}

/** What a value is, for a message, without calling anything on it (`{"toString":1}` included). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return `${value as number | boolean | null | undefined}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export type Fields = Readonly<Record<string, unknown>>;

/** An object (not an array), or undefined when missing (`undefined` / `null`). */
export function optionalRecord(value: unknown, field: string): Fields | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new FieldProblem(`${field} must be an object; got ${describe(value)}`);
  return value as Fields;
}

/** An array, or empty when missing. */
export function optionalList(value: unknown, field: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FieldProblem(`${field} is not a list (got ${describe(value)})`);
  return value;
}

/** A non-empty string, or undefined when missing. */
export function optionalText(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw new FieldProblem(`${field} must be a non-empty string; got ${describe(value)}`);
  return value;
}

export function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new FieldProblem(`${field} must be true or false; got ${describe(value)}`);
  return value;
}

export function optionalInteger(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value)) throw new FieldProblem(`${field} must be a whole number; got ${describe(value)}`);
  return value as number;
}

/** `namespace/name` of an object, for messages, whatever its metadata holds. */
export function objectKey(object: unknown): string {
  const metadata = typeof object === 'object' && object !== null ? (object as { metadata?: unknown }).metadata : undefined;
  const m = typeof metadata === 'object' && metadata !== null ? (metadata as { name?: unknown; namespace?: unknown }) : {};
  return `${typeof m.namespace === 'string' ? m.namespace : ''}/${typeof m.name === 'string' && m.name !== '' ? m.name : '?'}`;
}
