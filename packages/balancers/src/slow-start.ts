import type { Balancer, CallOutcome, Duration, Instance, PickContext } from '@disco/core';
import { OptionReader } from './options.js';
import { registerWrapper } from './register-wrapper.js';
import { Rng, type RandomSource } from './random-source.js';

export interface SlowStartOptions {
  /** How long a new instance's weight takes to ramp up to full. Default 30s. */
  window?: Duration;
  /** Share of its full weight a new instance starts with, 0..1. Default 0.1. */
  minWeight?: number;
  /** Ramp shape: weight = (elapsed / window)^(1 / aggression); 1 is linear, larger is faster early. Default 1. */
  aggression?: number;
  /** Millisecond clock read in onStart/onEnd (never in pick); default `performance.now`. */
  now?: () => number;
  /** Uniform numbers in [0, 1), e.g. `seededRandom(1)`; default: a generator seeded once from `Math.random`. */
  random?: RandomSource;
}

/** Inner picks tried before giving in and taking a ramping instance anyway. */
const attempts = 8;

/**
 * Ramps up instances that join after the first snapshot (Envoy's slow start): for `window`
 * after it appears, an instance's share is scaled by max(minWeight, (elapsed/window)^(1/aggression)).
 *
 * It composes with any strategy by thinning: when the inner strategy picks a ramping instance,
 * the wrapper keeps it with probability equal to its ramp factor and otherwise asks the inner
 * strategy again (at most 8 times). A strategy that answers the same instance twice in a row
 * (a hash strategy for one key) is deterministic for this call, and its answer is kept, so
 * affinity is never broken.
 *
 * Time: pick reads no clock. The wrapper reads it in onStart/onEnd (calls made through
 * `acquire()`/`release()`), and pick uses the time of the latest call event. An instance that
 * appears in a snapshot is stamped at the next call event (the previous one may be long past)
 * and has minWeight until then. Ramps therefore advance with traffic; a handle used only
 * through `pick()` keeps new instances at minWeight until the next snapshot without them.
 */
class SlowStartBalancer implements Balancer {
  readonly name: string;
  readonly #inner: Balancer;
  readonly #window: number;
  readonly #minWeight: number;
  readonly #exponent: number;
  readonly #clock: () => number;
  readonly #random: Rng;
  /** Time of the latest call event; NaN before the first. */
  #now = Number.NaN;
  #snapshot: readonly Instance[] | undefined;
  #known: Set<string> | undefined;
  /** When each ramping instance appeared (NaN: not stamped yet, see the class comment). */
  readonly #born = new Map<string, number>();
  #unstamped = false;

  constructor(inner: Balancer, options: SlowStartOptions | undefined) {
    const read = new OptionReader('slow_start', options, ['window', 'minWeight', 'aggression', 'now', 'random']);
    this.#inner = inner;
    this.#window = Math.max(read.duration('window', '30s'), 1);
    this.#minWeight = read.number('minWeight', 0.1, 0, 1);
    this.#exponent = 1 / read.number('aggression', 1, 0.01);
    this.#clock = read.clock();
    this.#random = Rng.from(read.random());
    this.name = `slow_start(${inner.name})`;
  }

  pick(instances: readonly Instance[], context?: PickContext): Instance | undefined {
    if (instances !== this.#snapshot) this.#notice(instances);
    let chosen = this.#inner.pick(instances, context);
    if (this.#born.size === 0) return chosen;
    for (let attempt = 1; chosen !== undefined && attempt < attempts; attempt++) {
      const factor = this.#factor(chosen);
      if (factor >= 1 || this.#random.next() < factor) return chosen;
      const again = this.#inner.pick(instances, context);
      if (again === chosen) return chosen;
      chosen = again;
    }
    return chosen;
  }

  onStart(instance: Instance): void {
    this.#tick();
    this.#inner.onStart?.(instance);
  }

  onEnd(instance: Instance, outcome: CallOutcome): void {
    this.#tick();
    this.#inner.onEnd?.(instance, outcome);
  }

  /** Share of its weight `instance` gets now: 1 once ramped up. */
  #factor(instance: Instance): number {
    const born = this.#born.get(instance.id);
    if (born === undefined) return 1;
    const elapsed = this.#now - born;
    if (Number.isNaN(elapsed)) return this.#minWeight;
    if (elapsed >= this.#window) {
      this.#born.delete(instance.id);
      return 1;
    }
    return Math.max(this.#minWeight, (Math.max(elapsed, 0) / this.#window) ** this.#exponent);
  }

  #tick(): void {
    this.#now = this.#clock();
    if (!this.#unstamped) return;
    this.#unstamped = false;
    for (const [id, born] of this.#born) if (Number.isNaN(born)) this.#born.set(id, this.#now);
  }

  /** Once per snapshot: stamp instances never seen before; the first non-empty snapshot's are established. */
  #notice(instances: readonly Instance[]): void {
    this.#snapshot = instances;
    if (!this.#known && instances.length === 0) return;
    const ids = new Set<string>();
    for (const instance of instances) {
      ids.add(instance.id);
      if (this.#known && !this.#known.has(instance.id)) {
        this.#born.set(instance.id, Number.NaN);
        this.#unstamped = true;
      }
    }
    for (const id of this.#born.keys()) if (!ids.has(id)) this.#born.delete(id);
    this.#known = ids;
  }
}

/** Wraps any strategy so that instances joining later get their traffic gradually. */
export const slowStart = (inner: Balancer, options?: SlowStartOptions): Balancer => new SlowStartBalancer(inner, options);

registerWrapper('slow_start', slowStart);
