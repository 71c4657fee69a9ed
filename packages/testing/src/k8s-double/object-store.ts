import { randomUUID } from 'node:crypto';
import { gone, StatusError } from './status.js';
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

/**
 * The double's etcd: objects by resource, one global revision counter (every change takes
 * the next number and becomes the object's resourceVersion), and a bounded history that
 * watches replay from. `compact()` drops history the way etcd compaction does, so a watch
 * or a list continuation from before it gets 410 Gone.
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
    const inNamespace = namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
    return inNamespace.sort((a, b) => (key(a.metadata.namespace ?? '', a.metadata.name) < key(b.metadata.namespace ?? '', b.metadata.name) ? -1 : 1));
  }

  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    return this.#objects.get(resource)?.get(key(namespace, name));
  }

  create(resource: ResourceName, object: KubeObject): KubeObject {
    const { namespace = 'default', name } = object.metadata;
    if (this.get(resource, namespace, name)) throw new StatusError(409, 'AlreadyExists', `${resource} "${name}" already exists`);
    return this.#write(resource, 'ADDED', object, undefined);
  }

  /** Replaces an object; with `metadata.resourceVersion` set, only if it is still that version (409 otherwise). */
  update(resource: ResourceName, object: KubeObject): KubeObject {
    const { namespace = 'default', name, resourceVersion } = object.metadata;
    const current = this.get(resource, namespace, name);
    if (!current) throw new StatusError(404, 'NotFound', `${resource} "${name}" not found`);
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    return this.#write(resource, 'MODIFIED', object, current);
  }

  /** Creates or replaces (ignores any resourceVersion given). */
  apply(resource: ResourceName, object: KubeObject): KubeObject {
    const { namespace = 'default', name } = object.metadata;
    const current = this.get(resource, namespace, name);
    const fresh = { ...object, metadata: { ...object.metadata } };
    delete fresh.metadata.resourceVersion;
    return current ? this.#write(resource, 'MODIFIED', fresh, current) : this.#write(resource, 'ADDED', fresh, undefined);
  }

  delete(resource: ResourceName, namespace: string, name: string): KubeObject {
    const current = this.get(resource, namespace, name);
    if (!current) throw new StatusError(404, 'NotFound', `${resource} "${name}" not found`);
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
    const namespace = object.metadata.namespace ?? 'default';
    const stored: KubeObject = structuredClone({
      ...object,
      apiVersion: type_.apiVersion,
      kind: type_.kind,
      metadata: {
        ...object.metadata,
        namespace,
        uid: previous?.metadata.uid ?? randomUUID(),
        creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString(),
        generation: (previous?.metadata.generation ?? 0) + 1,
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
