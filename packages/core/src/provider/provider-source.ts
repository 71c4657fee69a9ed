import type { Provider } from '../provider.js';
import type { ServiceSource } from './source.js';

/**
 * The source of a provider that was not built on the kit (no `source()`): lists are its
 * `discover`, and where it can watch, a follow is its `watch` until that reports an error.
 */
export function sourceFromProvider(provider: Provider, name: string, pollMs: number): ServiceSource {
  if (provider.source) return provider.source(name);
  const source: ServiceSource = {
    list: async (signal) => ({ instances: await provider.discover(name, { signal }), position: 0 }),
    pollMs,
  };
  if (!provider.capabilities.watch) return source;
  return {
    ...source,
    // A provider's watch recovers by itself (the Provider contract): its errors mark the
    // snapshot stale without ending the follow, and its next snapshot ends the outage.
    follow: (_position, sink, signal) =>
      new Promise((resolve) => {
        const stop = provider.watch(name, (event) => {
          if (signal.aborted) return;
          if ('instances' in event) sink.replace(event.instances);
          else sink.stale(event.error);
        });
        const end = () => {
          stop();
          resolve('ended');
        };
        if (signal.aborted) end();
        else signal.addEventListener('abort', end, { once: true });
      }),
  };
}
