import { reconcile } from '../snapshot.js';
import { sameInstance, type Instance } from '../service.js';

/**
 * The instances of one service, sorted by id, changed one at a time (a watch event) or all at
 * once (a list). A single change costs a binary search and at most one array copy, never a
 * comparison of every instance. `snapshot()` returns the same array until something changed,
 * and a new array after; unchanged instances keep their objects. A snapshot is the set's own
 * array until the next change, which copies it first (copy-on-write): a published array is
 * never changed, and a quiet service holds one array, not two. The arrays are not frozen: V8
 * indexes frozen arrays several times slower.
 */
export class InstanceSet {
  #items: Instance[] = [];
  /** `#items` was handed out by `snapshot()`: copy it before changing it. */
  #published = false;
  /** A snapshot was ever taken (until then every replace counts as a change). */
  #taken = false;
  #unhealthy = 0;

  get size(): number {
    return this.#items.length;
  }

  /** How many instances are marked unhealthy (a healthy-only view of none is the snapshot itself). */
  get unhealthy(): number {
    return this.#unhealthy;
  }

  /** Replaces the whole state; returns whether anything changed. */
  replace(instances: Iterable<Instance>): boolean {
    const list = Array.isArray(instances) ? (instances as readonly Instance[]) : [...instances];
    const next = reconcile(this.#items, list);
    if (next === this.#items && this.#taken) return false;
    if (next !== this.#items) {
      // reconcile's answer is a fresh array (or its shared empty one): ours to keep.
      this.#items = next.length === 0 ? [] : (next as Instance[]);
      this.#published = false;
    }
    this.#unhealthy = 0;
    for (const instance of this.#items) if (!instance.healthy) this.#unhealthy++;
    return true;
  }

  /** Adds or changes one instance (matched by id); returns whether anything changed. */
  upsert(instance: Instance): boolean {
    const at = this.#find(instance.id);
    if (at >= 0) {
      const old = this.#items[at]!;
      if (sameInstance(old, instance)) return false;
      this.#unhealthy += (instance.healthy ? 0 : 1) - (old.healthy ? 0 : 1);
      this.#writable()[at] = instance;
    } else {
      this.#writable().splice(~at, 0, instance);
      if (!instance.healthy) this.#unhealthy++;
    }
    return true;
  }

  /** Removes one instance by id; returns whether it was there. */
  remove(id: string): boolean {
    const at = this.#find(id);
    if (at < 0) return false;
    if (!this.#items[at]!.healthy) this.#unhealthy--;
    this.#writable().splice(at, 1);
    return true;
  }

  /** The current instances; the same array as last time unless something changed. */
  snapshot(): readonly Instance[] {
    this.#taken = true;
    this.#published = true;
    return this.#items;
  }

  #writable(): Instance[] {
    if (this.#published) {
      this.#items = this.#items.slice();
      this.#published = false;
    }
    return this.#items;
  }

  /** Index of `id`, or `~insertionPoint` when absent. */
  #find(id: string): number {
    const items = this.#items;
    let low = 0;
    let high = items.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const other = items[mid]!.id;
      if (other < id) low = mid + 1;
      else if (other > id) high = mid - 1;
      else return mid;
    }
    return ~low;
  }
}
