// fieldSelector as the API server reads it (k8s.io/apimachinery/pkg/fields): `a=b`, `a==b`,
// `a!=b`, ANDed by commas, over the field labels the kind supports; an unknown label is 400.
import { badRequest } from './status.js';
import type { KubeObject, ResourceType } from './resources.js';

export type FieldMatcher = (object: KubeObject) => boolean;

interface Term {
  readonly field: string;
  readonly value: string;
  readonly equal: boolean;
}

function valueAt(object: KubeObject, field: string): string {
  let at: unknown = object;
  for (const part of field.split('.')) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[part] : undefined;
  return at === undefined || at === null ? '' : String(at);
}

/** Parses a fieldSelector for `type`; throws a 400 StatusError for a malformed one or an unsupported field label. */
export function parseFieldSelector(selector: string | null | undefined, type: ResourceType): FieldMatcher {
  const terms: Term[] = [];
  for (const raw of (selector ?? '').split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1]!.trim();
    if (!type.fieldLabels.includes(field)) {
      throw badRequest(type.fieldLabelConversion === 'own' ? `field label not supported: ${field}` : `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    }
    terms.push({ field, value: m[3]!.trim(), equal: m[2] !== '!=' });
  }
  if (terms.length === 0) return () => true;
  return (object) => terms.every((t) => (valueAt(object, t.field) === t.value) === t.equal);
}
