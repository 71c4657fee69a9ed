import type { Discovery } from '@disco/core';
import { errors, type Dispatcher } from 'undici';
import type { ServiceTarget } from './host-rule.js';
import type { RouterSettings } from './options.js';
import { RoutedRequest, type SendSettings } from './routed-request.js';
import { ServiceRoute } from './service-route.js';

/**
 * What the dispatcher and the interceptor share: tells requests to services from the rest, keeps
 * one route (handle, pools, retry budget) per service, and sends each request through it.
 */
export class ServiceRouter {
  readonly #discovery: Discovery;
  readonly #settings: RouterSettings;
  readonly #send: SendSettings;
  readonly #routes = new Map<string, ServiceRoute>();
  #closed = false;

  constructor(discovery: Discovery, settings: RouterSettings) {
    this.#discovery = discovery;
    this.#settings = settings;
    this.#send = { isFailure: settings.isFailure, onRetry: settings.onRetry, hostHeader: settings.hostHeader, tlsMetadataKey: settings.tlsMetadataKey };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The service a request is for, or undefined when its host names none. */
  target(opts: Dispatcher.DispatchOptions): ServiceTarget | undefined {
    const origin = opts.origin;
    if (origin === undefined) return undefined;
    return this.#settings.targetOf(typeof origin === 'string' ? origin : origin.origin);
  }

  dispatch(target: ServiceTarget, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#closed) {
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, new errors.ClientClosedError());
      return true;
    }
    new RoutedRequest(this.#route(target.service), target, opts, handler, this.#send).start();
    return true;
  }

  #route(name: string): ServiceRoute {
    let route = this.#routes.get(name);
    if (route === undefined) {
      route = new ServiceRoute(name, {
        discovery: this.#discovery,
        settings: this.#settings.service(name),
        pool: { factory: this.#settings.poolFactory, options: this.#settings.pool, drainMs: this.#settings.drainTimeoutMs },
        readyTimeoutMs: this.#settings.readyTimeoutMs,
        onFailed: (failed) => {
          if (this.#routes.get(name) === failed) this.#routes.delete(name);
        },
      });
      this.#routes.set(name, route);
    }
    return route;
  }

  /** Origins (`http://10.0.0.7:8080`) with an open pool, by service. */
  openOrigins(): Map<string, string[]> {
    return new Map([...this.#routes].map(([name, route]) => [name, route.pools.origins]));
  }

  /** Stops the handles and watches and closes every pool gracefully. */
  async close(): Promise<void> {
    this.#closed = true;
    const routes = [...this.#routes.values()];
    this.#routes.clear();
    await Promise.all(routes.map((route) => route.close()));
  }

  async destroy(error?: Error): Promise<void> {
    this.#closed = true;
    const routes = [...this.#routes.values()];
    this.#routes.clear();
    await Promise.all(routes.map((route) => route.destroy(error)));
  }
}
