import { sameInstance, type Instance } from './service.js';

const empty: readonly Instance[] = [];

const byId = (a: Instance, b: Instance) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function sortedById(list: readonly Instance[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1]!.id > list[i]!.id) return false;
  return true;
}

/**
 * Builds the next snapshot from freshly read instances: sorted by id, and reusing
 * the object from `previous` for every instance whose fields did not change — so balancer
 * state keyed by instance survives updates. Returns `previous` itself when nothing changed,
 * which is how callers avoid sending two equal snapshots in a row.
 *
 * Linear for the common case (input already in id order, few changes): no sort, and
 * instances are matched by position before falling back to a lookup by id.
 */
export function reconcile(previous: readonly Instance[] | undefined, next: readonly Instance[]): readonly Instance[] {
  if (next.length === 0) return previous?.length === 0 ? previous : empty;
  const sorted = sortedById(next) ? next.slice() : [...next].sort(byId);
  let changed = previous === undefined || previous.length !== sorted.length;
  let lookup: Map<string, Instance> | undefined;
  for (let i = 0; i < sorted.length; i++) {
    const fresh = sorted[i]!;
    let old = previous?.[i];
    if (previous && old?.id !== fresh.id) {
      lookup ??= new Map(previous.map((instance) => [instance.id, instance]));
      old = lookup.get(fresh.id);
    }
    if (old !== undefined && sameInstance(old, fresh)) sorted[i] = old;
    if (!changed && previous![i] !== sorted[i]) changed = true;
  }
  // Not frozen: V8 indexes a frozen array several times slower, and pick() loops over this one.
  return changed ? sorted : previous!;
}

/** True when both snapshots hold the same instance objects in the same order. */
export function sameSnapshot(a: readonly Instance[] | undefined, b: readonly Instance[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
