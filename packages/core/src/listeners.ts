import type { Unsubscribe } from './provider.js';

/**
 * A set of listeners of one kind — what every provider holds for `onEvent` and for the
 * watchers of one service. `add` returns its own unsubscribe (each call to `add` is its own
 * subscription). `emit` walks a copy of the set, so a listener may unsubscribe itself while
 * being called, and skips any listener unsubscribed earlier in the same broadcast.
 */
export class Listeners<T> {
  readonly #set = new Set<{ readonly listener: (value: T) => void }>();
  readonly #onListenerError: ((error: unknown) => void) | undefined;

  /** With `onListenerError`, a listener that throws is reported there and the others still run. */
  constructor(onListenerError?: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  get size(): number {
    return this.#set.size;
  }

  add(listener: (value: T) => void): Unsubscribe {
    const subscription = { listener };
    this.#set.add(subscription);
    return () => {
      this.#set.delete(subscription);
    };
  }

  emit(value: T): void {
    for (const subscription of [...this.#set]) {
      if (!this.#set.has(subscription)) continue;
      const { listener } = subscription;
      if (!this.#onListenerError) listener(value);
      else {
        try {
          listener(value);
        } catch (error) {
          this.#onListenerError(error);
        }
      }
    }
  }

  clear(): void {
    this.#set.clear();
  }
}

/**
 * Ties an unsubscribe function to an abort signal: aborting unsubscribes, and the returned
 * function unsubscribes and detaches from the signal (so long-lived signals do not collect
 * listeners). Either way `unsubscribe` runs once.
 */
export function unsubscribeOnAbort(signal: AbortSignal | undefined, unsubscribe: () => void): Unsubscribe {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    signal?.removeEventListener('abort', once);
    unsubscribe();
  };
  signal?.addEventListener('abort', once, { once: true });
  return once;
}
