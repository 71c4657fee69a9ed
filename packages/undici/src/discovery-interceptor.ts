import { ConfigError, type Discovery } from '@disco/core';
import type { Dispatcher } from 'undici';
import { resolveOptions, type DiscoveryDispatcherOptions } from './options.js';
import { ServiceRouter } from './service-router.js';

/** The interceptor, and the way to close the pools it opened. */
export interface DiscoveryInterceptor extends Dispatcher.DispatcherComposeInterceptor {
  /** Finishes what is in flight and closes every instance pool. */
  close(): Promise<void>;
  /** Fails what is in flight and destroys every instance pool. */
  destroy(): Promise<void>;
  /** Origins with an open connection pool, by service name. */
  openOrigins(): Map<string, string[]>;
}

/**
 * The dispatcher's routing as an interceptor for `dispatcher.compose()`: requests to services go
 * to their instances' pools (not on to the composed dispatcher), every other request goes on
 * untouched. Interceptors composed after this one (called before it) see `http://users/...`.
 * Its pools close with the Discovery, or with `close()`.
 */
export function discoveryInterceptor(discovery: Discovery, options?: Omit<DiscoveryDispatcherOptions, 'fallback'>): DiscoveryInterceptor {
  if (options && 'fallback' in options) {
    throw new ConfigError('discoveryInterceptor: option "fallback" does not apply: other requests go on to the composed dispatcher', 'fallback');
  }
  const router = new ServiceRouter(discovery, resolveOptions(options));
  const interceptor = (dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch =>
    (opts, handler) => {
      const target = router.target(opts);
      return target === undefined ? dispatch(opts, handler) : router.dispatch(target, opts, handler);
    };
  return Object.assign(interceptor, {
    close: () => router.close(),
    destroy: () => router.destroy(),
    openOrigins: () => router.openOrigins(),
  });
}
