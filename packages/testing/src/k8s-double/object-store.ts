import { randomUUID } from 'node:crypto';
import { alreadyExists, conflict, gone, notFound } from './status.js';
import { resourceType, type KubeObject, type ResourceName } from './resources.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as etcd's history holds it. `previous` lets a filtered watch see an object leave its selector. */
export interface StoredEvent {
  readonly revision: number;
  readonly resource: ResourceName;
  readonly type: ChangeType;
  readonly object: KubeObject;
  readonly previous: KubeObject | undefined;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;
const namespaceOf = (resource: ResourceName, object: KubeObject) => (resourceType(resource).namespaced ? (object.metadata.namespace ?? 'default') : '');

/**
 * The double's etcd: objects by resource, one global revision counter (every change takes
 * the next number and becomes the object's resourceVersion), and a bounded history that
 * watches replay from. `compact()` drops history the way etcd compaction does, so a watch
 * or a list continuation from before it gets 410 Gone. Namespaces are cluster-scoped (no
 * namespace in their key).
 */
export class ObjectStore {
  readonly #objects = new Map<ResourceName, Map<string, KubeObject>>();
  readonly #history: StoredEvent[] = [];
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  readonly #historyLimit: number;
  #revision: number;
  #compacted: number;

  constructor(options: { historyLimit?: number; firstRevision?: number } = {}) {
    this.#historyLimit = options.historyLimit ?? 10_000;
    this.#revision = options.firstRevision ?? 1000;
    this.#compacted = this.#revision;
  }

  get revision(): number {
    return this.#revision;
  }

  /** Revisions at or below this one are gone from history. */
  get compactedRevision(): number {
    return this.#compacted;
  }

  list(resource: ResourceName, namespace?: string): KubeObject[] {
    const all = [...(this.#objects.get(resource)?.values() ?? [])];
    const inNamespace = namespace === undefined || !resourceType(resource).namespaced ? all : all.filter((o) => o.metadata.namespace === namespace);
    return inNamespace.sort((a, b) => (key(a.metadata.namespace ?? '', a.metadata.name) < key(b.metadata.namespace ?? '', b.metadata.name) ? -1 : 1));
  }

  /**
   * The objects as they were at `revision` (a list with resourceVersionMatch=Exact): the
   * current state with the history after it rolled back; 410 Gone when compacted away.
   */
  listAt(resource: ResourceName, namespace: string | undefined, revision: number): KubeObject[] {
    if (revision < this.#compacted) throw gone(`The resourceVersion for the provided list is too old.`);
    const state = new Map(this.list(resource, namespace).map((o) => [key(o.metadata.namespace ?? '', o.metadata.name), o]));
    for (let i = this.#history.length - 1; i >= 0 && this.#history[i]!.revision > revision; i--) {
      const event = this.#history[i]!;
      if (event.resource !== resource) continue;
      const k = key(event.object.metadata.namespace ?? '', event.object.metadata.name);
      if (namespace !== undefined && resourceType(resource).namespaced && event.object.metadata.namespace !== namespace) continue;
      if (event.type === 'ADDED') state.delete(k);
      else if (event.previous) state.set(k, event.previous);
    }
    return [...state.values()].sort((a, b) => (key(a.metadata.namespace ?? '', a.metadata.name) < key(b.metadata.namespace ?? '', b.metadata.name) ? -1 : 1));
  }

  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    return this.#objects.get(resource)?.get(key(resourceType(resource).namespaced ? namespace : '', name));
  }

  create(resource: ResourceName, object: KubeObject): KubeObject {
    const { name } = object.metadata;
    if (this.get(resource, namespaceOf(resource, object), name)) throw alreadyExists(resourceType(resource), name);
    return this.#write(resource, 'ADDED', object, undefined);
  }

  /** Replaces an object; with `metadata.resourceVersion` set, only if it is still that version (409 otherwise). */
  update(resource: ResourceName, object: KubeObject): KubeObject {
    const { name, resourceVersion } = object.metadata;
    const current = this.get(resource, namespaceOf(resource, object), name);
    if (!current) throw notFound(resourceType(resource), name);
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) throw conflict(resourceType(resource), name);
    return this.#write(resource, 'MODIFIED', object, current);
  }

  /** Creates or replaces (ignores any resourceVersion given). */
  apply(resource: ResourceName, object: KubeObject): KubeObject {
    const current = this.get(resource, namespaceOf(resource, object), object.metadata.name);
    const fresh = { ...object, metadata: { ...object.metadata } };
    delete fresh.metadata.resourceVersion;
    return current ? this.#write(resource, 'MODIFIED', fresh, current) : this.#write(resource, 'ADDED', fresh, undefined);
  }

  delete(resource: ResourceName, namespace: string, name: string): KubeObject {
    const current = this.get(resource, namespace, name);
    if (!current) throw notFound(resourceType(resource), name);
    return this.#write(resource, 'DELETED', current, current);
  }

  /** Events after `revision`, or 410 Gone when history no longer reaches back that far. */
  since(revision: number): StoredEvent[] {
    if (revision < this.#compacted) throw gone(`too old resource version: ${revision} (${this.#compacted})`);
    const first = this.#history.findIndex((e) => e.revision > revision);
    return first === -1 ? [] : this.#history.slice(first);
  }

  /** Drops history up to `revision` (default: everything so far). */
  compact(revision = this.#revision): void {
    this.#compacted = Math.max(this.#compacted, Math.min(revision, this.#revision));
    while (this.#history.length > 0 && this.#history[0]!.revision <= this.#compacted) this.#history.shift();
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #write(resource: ResourceName, type: ChangeType, object: KubeObject, previous: KubeObject | undefined): KubeObject {
    const revision = ++this.#revision;
    const type_ = resourceType(resource);
    const namespace = namespaceOf(resource, object);
    const metadata = { ...object.metadata };
    if (type_.namespaced) metadata.namespace = namespace;
    else delete metadata.namespace;
    const stored: KubeObject = structuredClone({
      ...object,
      apiVersion: type_.apiVersion,
      kind: type_.kind,
      metadata: {
        ...metadata,
        uid: previous?.metadata.uid ?? randomUUID(),
        creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        generation: type === 'DELETED' ? (previous?.metadata.generation ?? 1) : generation(object, previous),
        resourceVersion: String(revision),
      },
    });
    let byKey = this.#objects.get(resource);
    if (!byKey) this.#objects.set(resource, (byKey = new Map()));
    if (type === 'DELETED') byKey.delete(key(namespace, object.metadata.name));
    else byKey.set(key(namespace, object.metadata.name), stored);
    const event: StoredEvent = { revision, resource, type, object: stored, previous };
    this.#history.push(event);
    if (this.#history.length > this.#historyLimit) this.compact(this.#history[this.#history.length - this.#historyLimit - 1]!.revision);
    for (const listener of [...this.#listeners]) listener(event);
    return stored;
  }
}

/** metadata.generation moves when anything but metadata and status changed. */
function generation(object: KubeObject, previous: KubeObject | undefined): number {
  if (!previous) return 1;
  const body = (o: KubeObject) => JSON.stringify({ ...o, metadata: undefined, status: undefined, kind: undefined, apiVersion: undefined, resourceVersion: undefined });
  const before = previous.metadata.generation ?? 1;
  return body(object) === body(previous) ? before : before + 1;
}
