import type { Discovery } from './discovery.js';
import { parseDuration, type Duration } from './duration.js';
import { silentLogger, type Logger } from './logger.js';

export interface ShutdownOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** How long to keep serving after leaving the registry, so clients stop sending. Default 5s. */
  drain?: Duration;
  /** Hard limit for the whole sequence; past it the process exits with code 1. Default 30s. */
  timeout?: Duration;
  /** Take registrations out (`deregister`, default) or keep them marked unhealthy (`unhealthy`). */
  mode?: 'deregister' | 'unhealthy';
  /** Runs after the drain, before close: stop your servers here. */
  beforeClose?: () => void | Promise<void>;
  logger?: Logger;
  /** Injectable for tests; default process.exit. */
  exit?: (code: number) => void;
}

/**
 * Graceful shutdown: on the first signal, take this process's registrations out, wait the
 * drain period (in-flight and late-arriving requests still served), close, exit 0. A second
 * signal, or the timeout, exits at once with code 1. Returns a function that removes the
 * handlers again.
 */
export function onShutdown(discovery: Discovery, options: ShutdownOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const drainMs = parseDuration(options.drain ?? '5s', 'drain');
  const timeoutMs = parseDuration(options.timeout ?? '30s', 'timeout');
  const logger = options.logger ?? silentLogger;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let started = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (started) {
      logger.warn({ signal }, 'disco: second signal during shutdown; exiting now');
      exit(1);
      return;
    }
    started = true;
    logger.info({ signal, drainMs }, 'disco: shutting down');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs }, 'disco: shutdown timed out; exiting');
      exit(1);
    }, timeoutMs);
    void (async () => {
      try {
        await discovery.withdraw(options.mode ?? 'deregister');
        if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
        await options.beforeClose?.();
        await discovery.close();
        clearTimeout(deadline);
        exit(0);
      } catch (error) {
        logger.error({ err: error }, 'disco: shutdown failed');
        clearTimeout(deadline);
        exit(1);
      }
    })();
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
