import { sameInstance, type Instance } from './service.js';

const empty: readonly Instance[] = Object.freeze([]);

/**
 * Builds the next snapshot from freshly read instances: sorted by id, frozen, and reusing
 * the object from `previous` for every instance whose fields did not change — so balancer
 * state keyed by instance survives updates. Returns `previous` itself when nothing changed,
 * which is how callers avoid sending two equal snapshots in a row.
 */
export function reconcile(previous: readonly Instance[] | undefined, next: readonly Instance[]): readonly Instance[] {
  if (next.length === 0) return previous?.length === 0 ? previous : empty;
  const byId = new Map<string, Instance>();
  if (previous) for (const instance of previous) byId.set(instance.id, instance);
  const sorted = [...next].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let changed = previous === undefined || previous.length !== sorted.length;
  for (let i = 0; i < sorted.length; i++) {
    const fresh = sorted[i]!;
    const old = byId.get(fresh.id);
    if (old !== undefined && sameInstance(old, fresh)) sorted[i] = old;
    if (!changed && previous![i] !== sorted[i]) changed = true;
  }
  return changed ? Object.freeze(sorted) : previous!;
}

/** True when both snapshots hold the same instance objects in the same order. */
export function sameSnapshot(a: readonly Instance[] | undefined, b: readonly Instance[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
