import { createInstance, InvalidRecordError, type Instance } from '@disco/core';
import { reconcile } from '@disco/core/provider';
import { isIPv4 } from 'node:net';
import type { Candidate, MappedObject, ObjectMapper } from './candidate.js';
import { describe, objectKey } from './fields.js';
import type { KubeItem } from './kube-api.js';

export interface Policy {
  readonly unready: 'exclude' | 'unhealthy';
  readonly terminating: 'exclude' | 'unhealthy' | 'fallback';
}

const nameOf = (object: KubeItem): string => (typeof object.metadata?.name === 'string' ? object.metadata.name : '');
const versionOf = (object: KubeItem): string | undefined => (typeof object.metadata?.resourceVersion === 'string' ? object.metadata.resourceVersion : undefined);

interface Entry {
  readonly version: string | undefined;
  readonly mapped: MappedObject;
}

/**
 * The instances of one service, kept from the Kubernetes objects behind it (several
 * EndpointSlices, or pods). Each object is mapped once per resourceVersion, so a change
 * costs one mapping plus a merge; the merge applies the readiness policy and hands the result
 * to core's `reconcile`, which keeps unchanged Instance objects and the snapshot itself when
 * nothing changed.
 */
export class ServiceView {
  readonly #map: ObjectMapper<KubeItem>;
  readonly #policy: Policy;
  readonly #onProblem: (problem: InvalidRecordError) => void;
  #entries = new Map<string, Entry>();
  #snapshot: readonly Instance[] | undefined;

  constructor(map: ObjectMapper<KubeItem>, policy: Policy, onProblem: (problem: InvalidRecordError) => void) {
    this.#map = map;
    this.#policy = policy;
    this.#onProblem = onProblem;
  }

  /** undefined until the first `replace`. */
  get snapshot(): readonly Instance[] | undefined {
    return this.#snapshot;
  }

  /** After a full list. Returns true when the snapshot changed. */
  replace(objects: readonly KubeItem[]): boolean {
    const previous = this.#entries;
    this.#entries = new Map();
    for (const object of objects) {
      const name = nameOf(object);
      const old = previous.get(name);
      const version = versionOf(object);
      this.#entries.set(name, old && version !== undefined && old.version === version ? old : this.#mapOne(object));
    }
    return this.rebuild();
  }

  /**
   * One watch event. Only records it: call `rebuild()` afterwards (once for a burst of events).
   * Returns false when the event changes nothing (a version already held, an unknown delete).
   */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeItem): boolean {
    const name = nameOf(object);
    if (type === 'DELETED') return this.#entries.delete(name);
    const version = versionOf(object);
    if (version !== undefined && this.#entries.get(name)?.version === version) return false;
    this.#entries.set(name, this.#mapOne(object));
    return true;
  }

  #mapOne(object: KubeItem): Entry {
    let mapped: MappedObject;
    try {
      mapped = this.#map(object);
    } catch (error) {
      // A shape the mapper did not foresee: skip the object, say so (never a crash).
      mapped = { candidates: [], problems: [new InvalidRecordError(objectKey(object), `could not be read: ${error instanceof Error ? error.message : describe(error)}`)] };
    }
    for (const problem of mapped.problems) this.#onProblem(problem);
    return { version: versionOf(object), mapped };
  }

  /** Merges every object's candidates under the policy; returns true when the snapshot changed. */
  rebuild(): boolean {
    const all: Candidate[] = [];
    let anyReady = false;
    for (const entry of this.#entries.values()) {
      for (const candidate of entry.mapped.candidates) {
        all.push(candidate);
        if (candidate.state === 'ready') anyReady = true;
      }
    }
    const { unready, terminating } = this.#policy;
    const offered: Instance[] = [];
    for (const { instance, state } of all) {
      if (state === 'ready') offered.push(instance);
      else if (state === 'unready' ? unready === 'unhealthy' : terminating === 'unhealthy') offered.push(instance);
      else if (state === 'terminating' && terminating === 'fallback' && !anyReady) offered.push(createInstance({ ...instance, healthy: true }));
    }
    // reconcile sorts by id, so duplicate ids end up side by side: a linear scan finds them,
    // and the rare case (dual stack, an endpoint moving between slices) is merged again.
    let next = reconcile(this.#snapshot, offered);
    if (hasAdjacentDuplicate(next)) next = reconcile(this.#snapshot, distinctIds(offered));
    const changed = next !== this.#snapshot;
    this.#snapshot = next;
    return changed;
  }
}

function hasAdjacentDuplicate(sorted: readonly Instance[]): boolean {
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.id === sorted[i - 1]!.id) return true;
  return false;
}

/**
 * One id per instance. The same endpoint listed twice (while it moves between slices) is kept
 * once; a pod listed with two addresses (an IPv4 and an IPv6 slice of a dual-stack service)
 * keeps its id on the IPv4 one and gets `<id>@<address>` on the other.
 */
function distinctIds(instances: Instance[]): Instance[] {
  const byId = new Map<string, Instance>();
  let clashes: Instance[] | undefined;
  for (const instance of instances) {
    const seen = byId.get(instance.id);
    if (seen === undefined) byId.set(instance.id, instance);
    else if (seen.address !== instance.address) (clashes ??= []).push(instance);
  }
  if (!clashes) return [...byId.values()];
  for (const clash of clashes) {
    const seen = byId.get(clash.id)!;
    const [keep, rename] = isIPv4(clash.address) && !isIPv4(seen.address) ? [clash, seen] : [seen, clash];
    byId.set(keep.id, keep);
    const renamed = createInstance({ ...rename, id: `${rename.id}@${rename.address}` });
    byId.set(renamed.id, renamed);
  }
  return [...byId.values()];
}
