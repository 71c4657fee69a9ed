import { once } from 'node:events';
import { configFromEnv, createDiscovery, parseDuration, TimeoutError, type Discovery, type DiscoveryConfig } from '@disco/core';
import { abortable } from '@disco/core/provider';
import { UsageError } from './exit-codes.js';
import { style, useColor, type Io, type Style } from './io.js';
import { environment, type globalOptions, type Values } from './options.js';

/** What every command gets: where to write, how, the configuration, and when to stop. */
export class Context {
  readonly io: Io;
  readonly style: Style;
  readonly color: boolean;
  readonly json: boolean;
  /** The process's environment with the flags laid over it: what configFromEnv reads. */
  readonly env: Record<string, string | undefined>;
  readonly timeoutMs: number;
  /** Aborted on SIGINT or SIGTERM. */
  readonly interrupted: AbortSignal;

  constructor(io: Io, values: Values<typeof globalOptions>, interrupted: AbortSignal) {
    this.io = io;
    this.color = useColor(io.stdout, io.env, values['no-color'] === true);
    this.style = style(this.color);
    this.json = values.json === true;
    this.env = environment(io.env, values);
    try {
      this.timeoutMs = parseDuration(values.timeout ?? '10s', '--timeout');
    } catch (error) {
      throw new UsageError(`--timeout: ${(error as Error).message}`);
    }
    this.interrupted = interrupted;
  }

  /** The configuration from the environment and flags (`ERR_CONFIG` naming the variable when one is wrong). */
  config(extra: Record<string, string> = {}): DiscoveryConfig {
    // A CLI run makes no registration of its own to health-check, except `register --hold`, which asks for it.
    return configFromEnv({ DISCOVERY_HEALTH_CHECK: 'false', ...this.env, ...extra });
  }

  discovery(extra?: Record<string, string>): Discovery {
    return createDiscovery(this.config(extra));
  }

  /** For one backend call: ends at --timeout or on Ctrl-C. */
  deadline(): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.interrupted]);
  }

  /** Runs `work` with a deadline; running out of time is ERR_TIMEOUT naming --timeout. */
  async within<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.deadline();
    try {
      return await abortable(work(signal), signal, what);
    } catch (error) {
      if (signal.aborted && !this.interrupted.aborted) throw new TimeoutError(`${what} (raise it with --timeout)`, this.timeoutMs, { cause: error });
      throw error;
    }
  }

  /** Waits until `signal` (default: Ctrl-C) aborts. A signal alone holds no handle, so the process is kept up meanwhile. */
  async until(signal: AbortSignal = this.interrupted): Promise<void> {
    if (signal.aborted) return;
    const keepAlive = setInterval(() => {}, 2 ** 30);
    try {
      await once(signal, 'abort');
    } finally {
      clearInterval(keepAlive);
    }
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  printJson(value: unknown): void {
    this.out(`${JSON.stringify(value, null, 2)}\n`);
  }
}
