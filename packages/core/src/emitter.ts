import type { Unsubscribe } from './provider.js';

/**
 * A small typed event emitter. Unlike node:events, an `error` event with no listener does
 * not throw, and a listener that throws cannot break the emitter's caller: the exception
 * goes to `onListenerError`.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): Unsubscribe {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
    };
  }

  /** Returns whether anybody listened. */
  emit<K extends keyof Events>(type: K, event: Events[K]): boolean {
    const set = this.#listeners.get(type);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        (listener as (event: Events[K]) => void)(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
    return true;
  }

  clear(): void {
    this.#listeners.clear();
  }
}
