import type { Discovery } from '@disco/core';
import { Agent, Dispatcher, Dispatcher1Wrapper, errors } from 'undici';
import { resolveOptions, type DiscoveryDispatcherOptions } from './options.js';
import { ServiceRouter } from './service-router.js';

const v1Callbacks = ['onConnect', 'onHeaders', 'onData', 'onComplete', 'onError', 'onUpgrade'];

/** A handler written for undici 7 and older (Node's built-in fetch): v1 callbacks and no onRequestStart. */
function isV1Handler(handler: Dispatcher.DispatchHandler): boolean {
  if (typeof handler.onRequestStart === 'function') return false;
  return v1Callbacks.some((name) => typeof (handler as Record<string, unknown>)[name] === 'function');
}

/**
 * An undici Dispatcher that sends requests whose host names a service (`http://users/api`) to
 * an instance of it, and every other request to its fallback. Use it as `fetch(url, { dispatcher })`,
 * with `setGlobalDispatcher`, or as the base of `compose()`.
 */
export class DiscoveryDispatcher extends Dispatcher {
  readonly #router: ServiceRouter;
  readonly #fallback: Dispatcher | undefined;
  #ownFallback: Agent | undefined;
  #legacy: Dispatcher1Wrapper | undefined;
  #closing: Promise<void> | undefined;

  /** Use {@link discoveryDispatcher}. */
  constructor(discovery: Discovery, options: DiscoveryDispatcherOptions = {}) {
    super();
    const settings = resolveOptions(options);
    this.#router = new ServiceRouter(discovery, settings);
    this.#fallback = settings.fallback;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // Node's built-in fetch still speaks the v1 handler API; undici's own wrapper translates it.
    if (isV1Handler(handler)) return (this.#legacy ??= new Dispatcher1Wrapper(this)).dispatch(opts, handler);
    const target = this.#router.target(opts);
    if (target !== undefined) return this.#router.dispatch(target, opts, handler);
    if (this.#closing) {
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, new errors.ClientClosedError());
      return true;
    }
    return (this.#fallback ?? (this.#ownFallback ??= new Agent())).dispatch(opts, handler);
  }

  /** Origins with an open connection pool, by service name (what is connected right now). */
  openOrigins(): Map<string, string[]> {
    return this.#router.openOrigins();
  }

  /** Finishes what is in flight, closes every pool and the dispatcher's own fallback Agent (a `fallback` you passed stays open). */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#closing ??= Promise.all([this.#router.close(), this.#ownFallback?.close()]).then(() => {});
    if (!callback) return this.#closing;
    this.#closing.then(callback, callback);
  }

  /** Fails what is in flight and destroys every pool and the dispatcher's own fallback Agent. */
  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(errorOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const error = typeof errorOrCallback === 'function' ? null : (errorOrCallback ?? null);
    const done = typeof errorOrCallback === 'function' ? errorOrCallback : callback;
    this.#closing ??= Promise.resolve();
    const destroyed = Promise.all([this.#router.destroy(error ?? undefined), this.#ownFallback?.destroy(error)]).then(() => {});
    if (!done) return destroyed;
    destroyed.then(done, done);
  }
}

/**
 * A Dispatcher that routes `http://<service>/...` through `discovery`: an instance picked by the
 * service's balancer for each request, a connection pool per instance (closed when the instance
 * leaves), retries on another instance within a retry budget, and each call's outcome fed back
 * to the balancer. Bad options throw an `ERR_CONFIG` naming the option.
 */
export function discoveryDispatcher(discovery: Discovery, options?: DiscoveryDispatcherOptions): DiscoveryDispatcher {
  return new DiscoveryDispatcher(discovery, options);
}
