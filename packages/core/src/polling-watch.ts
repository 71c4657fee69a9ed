import { jitter } from './backoff.js';
import { toDiscoveryError } from './to-discovery-error.js';
import type { Instance } from './service.js';
import type { Unsubscribe, WatchListener } from './provider.js';

/**
 * A watch made of periodic reads, for backends that cannot push. Sends every read (callers
 * de-duplicate with `reconcile`), or `{error}` when a read fails, and stops on unsubscribe.
 */
export function pollingWatch(
  read: (signal: AbortSignal) => Promise<readonly Instance[]>,
  listener: WatchListener,
  intervalMs: (lastReadOk: boolean) => number,
  providerName: string,
): Unsubscribe {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    let ok = true;
    try {
      const instances = await read(controller.signal);
      if (!controller.signal.aborted) listener({ instances });
    } catch (error) {
      ok = false;
      if (!controller.signal.aborted) listener({ error: toDiscoveryError(error, providerName) });
    }
    if (!controller.signal.aborted) timer = setTimeout(tick, jitter(intervalMs(ok)));
  };
  void tick();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
