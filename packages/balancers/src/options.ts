import { ConfigError, parseDuration, type Duration } from '@disco/core';
import type { RandomSource } from './random-source.js';

/**
 * Reads one strategy's options. They may come from plain configuration (`balancerOptions`),
 * so every value is checked here and a wrong one is an `ERR_CONFIG` naming the option.
 */
export class OptionReader {
  readonly #strategy: string;
  readonly #options: Readonly<Record<string, unknown>>;

  constructor(strategy: string, options: object | undefined, known: readonly string[]) {
    this.#strategy = strategy;
    this.#options = (options ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(this.#options)) {
      if (!known.includes(key)) {
        throw new ConfigError(`${strategy}: unknown option "${key}"; known options: ${known.join(', ') || 'none'}`, `${strategy}.${key}`);
      }
    }
  }

  number(key: string, fallback: number, min: number, max = Number.POSITIVE_INFINITY): number {
    const value = this.#options[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      const range = max === Number.POSITIVE_INFINITY ? `at least ${min}` : `between ${min} and ${max}`;
      throw this.#error(key, `must be a number ${range}; got ${JSON.stringify(value)}`);
    }
    return value;
  }

  integer(key: string, fallback: number, min: number, max = Number.POSITIVE_INFINITY): number {
    const value = this.number(key, fallback, min, max);
    if (!Number.isInteger(value)) throw this.#error(key, `must be a whole number; got ${value}`);
    return value;
  }

  /** Milliseconds, from a number or a string such as "10s". */
  duration(key: string, fallback: Duration): number {
    const value = this.#options[key] ?? fallback;
    return parseDuration(value as Duration, `${this.#strategy}.${key}`);
  }

  string(key: string): string | undefined {
    const value = this.#options[key];
    if (value === undefined || typeof value === 'string') return value;
    throw this.#error(key, `must be a string; got ${JSON.stringify(value)}`);
  }

  /** The `random` option, or undefined for the built-in generator. */
  random(): RandomSource | undefined {
    return this.#function('random');
  }

  /** A millisecond clock; the default is `performance.now`. */
  clock(): () => number {
    return this.#function('now') ?? (() => performance.now());
  }

  #function<F extends (...args: never[]) => unknown>(key: string): F | undefined {
    const value = this.#options[key];
    if (value === undefined || typeof value === 'function') return value as F | undefined;
    throw this.#error(key, `must be a function; got ${typeof value}`);
  }

  #error(key: string, detail: string): ConfigError {
    return new ConfigError(`${this.#strategy}: option "${key}" ${detail}`, `${this.#strategy}.${key}`);
  }
}
