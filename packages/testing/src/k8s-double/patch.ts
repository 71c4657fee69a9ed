// PATCH bodies the API server accepts for built-in kinds: JSON Patch (RFC 6902), JSON Merge
// Patch (RFC 7386) and strategic merge patch (what `kubectl apply`, `label` and `edit` send
// for the kinds they know), with the patch strategies and merge keys of the kinds served.
import { badRequest, StatusError } from './status.js';
import type { ResourceName } from './resources.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

// ---- RFC 7386 -------------------------------------------------------------------------

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// ---- RFC 6902 -------------------------------------------------------------------------

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`the server rejected our request due to an error in our request: JSON pointer ${JSON.stringify(path)} does not start with /`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: Json, parts: string[], op: string): { parent: JsonObject | Json[]; key: string } {
  let at: Json = doc;
  for (const part of parts.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(at) ? at[Number(part)] : isObject(at) ? at[part] : undefined;
    if (next === undefined) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: /${parts.join('/')}`);
    at = next;
  }
  if (!isObject(at) && !Array.isArray(at)) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: /${parts.join('/')}`);
  return { parent: at, key: parts[parts.length - 1]! };
}

function getAt(doc: Json, parts: string[], op: string): Json {
  if (parts.length === 0) return doc;
  const { parent, key } = parentOf(doc, parts, op);
  const value = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (value === undefined) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing key: /${parts.join('/')}`);
  return value;
}

function removeAt(doc: Json, parts: string[], op: string): Json {
  const value = getAt(doc, parts, op);
  const { parent, key } = parentOf(doc, parts, op);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return value;
}

function addAt(doc: Json, parts: string[], value: Json, op: string, replace: boolean): Json {
  if (parts.length === 0) return value;
  const { parent, key } = parentOf(doc, parts, op);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${op} operation does not apply: index out of bounds: ${key}`);
    if (replace) parent[index] = value;
    else parent.splice(index, 0, value);
  } else {
    if (replace && !(key in parent)) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: /${parts.join('/')}`);
    parent[key] = value;
  }
  return doc;
}

export function jsonPatch(target: Json, operations: unknown): Json {
  if (!Array.isArray(operations)) throw badRequest('the server rejected our request due to an error in our request: a JSON patch is an array of operations');
  let doc: Json = structuredClone(target);
  for (const raw of operations) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest('the server rejected our request due to an error in our request: a JSON patch operation needs op and path');
    const op = raw.op;
    const path = pointer(raw.path);
    switch (op) {
      case 'add':
        doc = addAt(doc, path, structuredClone(raw.value ?? null), op, false);
        break;
      case 'replace':
        doc = addAt(doc, path, structuredClone(raw.value ?? null), op, true);
        break;
      case 'remove':
        removeAt(doc, path, op);
        break;
      case 'move':
      case 'copy': {
        if (typeof raw.from !== 'string') throw badRequest(`the server rejected our request due to an error in our request: ${op} needs from`);
        const from = pointer(raw.from);
        const value = op === 'move' ? removeAt(doc, from, op) : structuredClone(getAt(doc, from, op));
        doc = addAt(doc, path, value, op, false);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, path, op)) !== JSON.stringify(raw.value)) throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value /${path.join('/')} failed`);
        break;
      default:
        throw badRequest(`the server rejected our request due to an error in our request: Unexpected kind: ${op}`);
    }
  }
  return doc;
}

// ---- strategic merge patch ------------------------------------------------------------

interface ListMeta {
  /** `merge`: items are merged (by `key` for lists of objects, as a set for primitives); otherwise the list is replaced. */
  readonly strategy: 'merge' | 'replace';
  readonly key?: string;
}

/**
 * The `patchStrategy` / `patchMergeKey` struct tags of the kinds served, by path (list items
 * are `[]`). Lists not named here are atomic: a patch replaces them whole (EndpointSlice
 * `endpoints` and `ports` included).
 */
const listMeta: Record<string, ListMeta> = {
  'metadata.finalizers': { strategy: 'merge' },
  'metadata.ownerReferences': { strategy: 'merge', key: 'uid' },
  'spec.containers': { strategy: 'merge', key: 'name' },
  'spec.initContainers': { strategy: 'merge', key: 'name' },
  'spec.containers[].ports': { strategy: 'merge', key: 'containerPort' },
  'spec.containers[].env': { strategy: 'merge', key: 'name' },
  'spec.containers[].volumeMounts': { strategy: 'merge', key: 'mountPath' },
  'spec.initContainers[].env': { strategy: 'merge', key: 'name' },
  'spec.volumes': { strategy: 'merge', key: 'name' },
  'spec.imagePullSecrets': { strategy: 'merge', key: 'name' },
  'status.conditions': { strategy: 'merge', key: 'type' },
  'status.podIPs': { strategy: 'merge', key: 'ip' },
};

/** Service ports merge by port number; pod lists as above. */
function metaFor(resource: ResourceName, path: string): ListMeta {
  if (resource === 'services' && path === 'spec.ports') return { strategy: 'merge', key: 'port' };
  if (resource === 'endpointslices') return path === 'metadata.finalizers' || path === 'metadata.ownerReferences' ? listMeta[path]! : { strategy: 'replace' };
  return listMeta[path] ?? { strategy: 'replace' };
}

const directive = '$patch';

function mergeList(resource: ResourceName, original: Json[], patch: Json[], path: string, order: Json[] | undefined): Json[] {
  const meta = metaFor(resource, path);
  if (meta.strategy !== 'merge') return patch.filter((item) => !(isObject(item) && item[directive] !== undefined));
  if (patch.some((item) => isObject(item) && item[directive] === 'replace' && Object.keys(item).length === 1)) {
    return patch.filter((item) => !(isObject(item) && item[directive] === 'replace'));
  }
  let result: Json[] = [...original];
  if (meta.key === undefined) {
    for (const item of patch) if (!result.some((r) => JSON.stringify(r) === JSON.stringify(item))) result.push(item);
  } else {
    const key = meta.key;
    for (const item of patch) {
      if (!isObject(item)) throw badRequest(`the server rejected our request due to an error in our request: ${path}: a list merged by ${key} holds objects`);
      const index = result.findIndex((r) => isObject(r) && r[key] === item[key]);
      if (item[directive] === 'delete') {
        if (index >= 0) result.splice(index, 1);
        continue;
      }
      if (index >= 0) result[index] = strategicMerge(resource, result[index]!, item, `${path}[]`);
      else result.push(strategicMerge(resource, {}, item, `${path}[]`));
    }
    if (order) {
      const rank = (item: Json) => {
        const i = order.findIndex((o) => isObject(o) && isObject(item) && o[key] === item[key]);
        return i < 0 ? order.length : i;
      };
      result = result.map((item, i) => ({ item, i })).sort((a, b) => rank(a.item) - rank(b.item) || a.i - b.i).map((x) => x.item);
    }
  }
  return result;
}

/** Applies a strategic merge patch to `original` (objects at `path`, '' for the root). */
export function strategicMerge(resource: ResourceName, original: Json, patch: Json, path = ''): Json {
  if (!isObject(patch)) return patch;
  if (patch[directive] === 'replace') {
    const { [directive]: _, ...rest } = patch;
    return rest;
  }
  if (patch[directive] === 'delete') return {};
  const result: JsonObject = isObject(original) ? { ...original } : {};
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) for (const key of Object.keys(result)) if (!retain.includes(key) && !(key in patch)) delete result[key];
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  for (const [key, value] of Object.entries(patch)) {
    if (key === directive || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) result[field] = current.filter((v) => !value.some((d) => JSON.stringify(d) === JSON.stringify(v)));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = result[key];
    if (Array.isArray(value)) {
      const order = patch[`$setElementOrder/${key}`];
      result[key] = mergeList(resource, Array.isArray(current) ? current : [], value, at(key), Array.isArray(order) ? order : undefined);
    } else if (isObject(value)) {
      const nested = strategicMerge(resource, isObject(current) ? current : {}, value, at(key));
      if (isObject(value) && value[directive] === 'delete') delete result[key];
      else result[key] = nested;
    } else {
      result[key] = value;
    }
  }
  return result;
}

export const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'] as const;
export type PatchType = (typeof patchTypes)[number];

/** Applies a PATCH body of `type` to `current`. */
export function applyPatch(resource: ResourceName, type: string, current: unknown, body: string): unknown {
  const media = type.split(';')[0]!.trim();
  if (!(patchTypes as readonly string[]).includes(media)) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${patchTypes.join(', ')}${media === 'application/apply-patch+yaml' ? ' (this double does not implement server-side apply)' : ''}`,
    );
  }
  let patch: Json;
  try {
    patch = JSON.parse(body) as Json;
  } catch (error) {
    throw badRequest(`the server rejected our request due to an error in our request: ${(error as Error).message}`);
  }
  const target = structuredClone(current) as Json;
  if (media === 'application/json-patch+json') return jsonPatch(target, patch);
  if (!isObject(patch)) throw badRequest('the server rejected our request due to an error in our request: a merge patch is a JSON object');
  if (media === 'application/merge-patch+json') return mergePatch(target, patch);
  return strategicMerge(resource, target, patch);
}
