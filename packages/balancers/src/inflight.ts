import type { Instance } from '@disco/core';

/**
 * Calls in flight per instance id. Counting by id (not by object) keeps the count right when
 * an update replaces an instance's object; an entry exists only while calls are in flight,
 * so instances that leave take nothing with them.
 */
export class InflightCounts {
  readonly #counts = new Map<string, number>();

  get(instance: Instance): number {
    return this.#counts.get(instance.id) ?? 0;
  }

  /** Returns the count before the call began. */
  start(instance: Instance): number {
    const before = this.#counts.get(instance.id) ?? 0;
    this.#counts.set(instance.id, before + 1);
    return before;
  }

  /** Returns the count before the call ended; 0 means an end without a start (ignored). */
  end(instance: Instance): number {
    const before = this.#counts.get(instance.id) ?? 0;
    if (before <= 1) this.#counts.delete(instance.id);
    else this.#counts.set(instance.id, before - 1);
    return before;
  }
}
