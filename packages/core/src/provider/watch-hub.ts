import { abortable, throwIfAborted } from '../abort.js';
import { InvalidRecordError } from '../errors.js';
import type { InstanceFilter } from '../instance-filter.js';
import { unsubscribeOnAbort } from '../listeners.js';
import type { Logger } from '../logger.js';
import type { ProviderEvent, Unsubscribe, WatchListener } from '../provider.js';
import type { Instance } from '../service.js';
import { reconcile } from '../snapshot.js';
import { toDiscoveryError } from '../to-discovery-error.js';
import { instanceProblem } from './instance-check.js';
import type { ServiceSource } from './source.js';
import { WatchEngine, type EngineOptions } from './watch-engine.js';

export interface WatchHubOptions {
  /** The provider's name, for errors. */
  readonly provider: string;
  /** The provider's source for one service name. */
  readonly source: (name: string) => ServiceSource;
  /** Where engine events (invalid records, re-lists, recoveries) go: the provider's own `onEvent` listeners. */
  readonly emit: (event: ProviderEvent) => void;
  readonly logger: Logger;
}

/** A provider's `watch` hands out every instance, healthy or not: the consumer filters. */
const everything: InstanceFilter = Object.freeze({ healthyOnly: false });

/**
 * `watch` and `discover` for a provider built on the kit, for code that uses the provider
 * directly: one {@link WatchEngine} per watched name, started by its first listener and
 * stopped with its last. (A `Discovery` runs the provider's sources in its own engines and
 * does not come through here.)
 */
export class WatchHub {
  readonly #options: WatchHubOptions;
  readonly #engines = new Map<string, WatchEngine>();
  readonly #stopping = new Set<Promise<void>>();
  readonly #reported = new Map<string, Set<string>>();
  #engineOptions: EngineOptions | undefined;

  constructor(options: WatchHubOptions) {
    this.#options = options;
  }

  watch(name: string, listener: WatchListener, signal?: AbortSignal): Unsubscribe {
    if (signal?.aborted) return () => {};
    let engine = this.#engines.get(name);
    if (!engine) {
      engine = this.#engine(name);
      this.#engines.set(name, engine);
    }
    const current = engine;
    let stopped = false;
    const unsubscribe = current.subscribe(everything, (event) => {
      if (!stopped) listener(event);
    });
    return unsubscribeOnAbort(signal, () => {
      stopped = true;
      unsubscribe();
      // The engine stopped its source with its last subscriber; drop it so the next watch starts afresh.
      if (!current.following && this.#engines.get(name) === current) {
        this.#engines.delete(name);
        this.#track(current.close());
      }
    });
  }

  /** The watched snapshot when it is current, or one list of the backend. */
  async discover(name: string, signal?: AbortSignal): Promise<Instance[]> {
    throwIfAborted(signal, `discover("${name}")`);
    const fresh = this.#engines.get(name)?.fresh;
    if (fresh) return [...fresh];
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const result = await abortable(this.#options.source(name).list(controller.signal), signal, `discover("${name}")`);
      const kept: Instance[] = [];
      const invalid = [...(result.invalid ?? [])];
      for (const instance of result.instances) {
        const problem = instanceProblem(instance);
        if (problem === undefined) kept.push(instance);
        else invalid.push(new InvalidRecordError(`instance of "${name}"`, problem));
      }
      this.#report(name, invalid);
      return [...reconcile(undefined, kept)];
    } catch (error) {
      throw toDiscoveryError(error, this.#options.provider);
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  }

  /** Stops every engine; resolves once every source run has let go of its streams. */
  async close(): Promise<void> {
    for (const engine of this.#engines.values()) this.#track(engine.close());
    this.#engines.clear();
    await Promise.allSettled([...this.#stopping]);
  }

  #engine(name: string): WatchEngine {
    // One settings object for every engine of this hub.
    this.#engineOptions ??= {
      provider: this.#options.provider,
      // Backoff and rate bound come with the source (ServiceSource.backoff / .rate), as under a Discovery.
      source: (service) => this.#options.source(service),
      hooks: {
        error: (error, service) => this.#options.logger.warn({ service, code: error.code }, `${this.#options.provider}: watch of "${service}" failed; serving the last snapshot: ${error.message}`),
        event: (event) => this.#options.emit(event),
        listenerError: (error, service) => this.#options.logger.error({ service, err: toDiscoveryError(error, 'watch listener') }, 'a watch listener threw'),
      },
    };
    return new WatchEngine(name, this.#engineOptions);
  }

  /** Skipped records of a discover's list: each reported once while it stays bad (an engine de-duplicates its own). */
  #report(name: string, invalid: readonly InvalidRecordError[]): void {
    const before = this.#reported.get(name);
    const now = new Set(invalid.map((error) => error.message));
    if (now.size === 0) this.#reported.delete(name);
    else this.#reported.set(name, now);
    for (const error of invalid) {
      if (before?.has(error.message)) continue;
      this.#options.emit({ type: 'invalid-record', service: name, message: error.message, error });
    }
  }

  #track(closing: Promise<void>): void {
    this.#stopping.add(closing);
    void closing.finally(() => this.#stopping.delete(closing));
  }
}
