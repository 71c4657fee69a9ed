import { registerBalancer, type Balancer, type CallOutcome, type Duration, type Instance } from '@disco/core';
import { OptionReader } from './options.js';
import { Rng, type RandomSource } from './random-source.js';

export interface PeakEwmaOptions {
  /** How fast old latency fades: an observation's weight falls to 1/e after this long. Default 10s. */
  decay?: Duration;
  /** Cost of an instance with no latency data yet that already has a call in flight. Default 1e6 (ms). */
  penalty?: number;
  /** Millisecond clock read in onStart/onEnd (never in pick); default `performance.now`. */
  now?: () => number;
  /** Uniform numbers in [0, 1), e.g. `seededRandom(1)`; default: a generator seeded once from `Math.random`. */
  random?: RandomSource;
}

class Load {
  inflight = 0;
  /** Peak-sensitive moving average of latency in ms; NaN until the first observation. */
  latency = Number.NaN;
  /** When `latency` was last updated. */
  stamp = 0;
}

/**
 * Peak EWMA (after Finagle and Linkerd): cost = latency estimate × (calls in flight + 1), and
 * power of two choices on that cost. A latency above the estimate replaces it at once (peak);
 * a lower one blends in with weight 1 − e^(−Δt/decay). The estimate also fades between
 * observations, so an instance that was slow once is tried again after a while instead of
 * being shunned forever.
 *
 * An instance without data costs 0 while idle (it gets probed) and `penalty` while a call is
 * in flight (so a fresh instance is not flooded before it has answered once).
 *
 * The clock is read only in onStart/onEnd; pick uses the time of the last call event, which
 * is current whenever there is traffic.
 */
class PeakEwmaBalancer implements Balancer {
  readonly name = 'peak_ewma';
  readonly #decay: number;
  readonly #penalty: number;
  readonly #clock: () => number;
  readonly #random: Rng;
  readonly #loads = new Map<string, Load>();
  #now = 0;
  #snapshot: readonly Instance[] | undefined;

  constructor(options: PeakEwmaOptions | undefined) {
    const read = new OptionReader('peak_ewma', options, ['decay', 'penalty', 'now', 'random']);
    this.#decay = Math.max(read.duration('decay', '10s'), 1);
    this.#penalty = read.number('penalty', 1e6, 0);
    this.#clock = read.clock();
    this.#random = Rng.from(read.random());
  }

  pick(instances: readonly Instance[]): Instance | undefined {
    const n = instances.length;
    if (n < 2) return instances[0];
    if (instances !== this.#snapshot) this.#forgetDeparted(instances);
    const i = this.#random.index(n);
    let j = this.#random.index(n - 1);
    if (j >= i) j++;
    const a = instances[i]!;
    const b = instances[j]!;
    return this.#cost(b) < this.#cost(a) ? b : a;
  }

  onStart(instance: Instance): void {
    this.#now = this.#clock();
    let load = this.#loads.get(instance.id);
    if (!load) {
      load = new Load();
      this.#loads.set(instance.id, load);
    }
    load.inflight++;
  }

  onEnd(instance: Instance, outcome: CallOutcome): void {
    const now = (this.#now = this.#clock());
    const load = this.#loads.get(instance.id);
    if (!load) return;
    if (load.inflight > 0) load.inflight--;
    const rtt = outcome.latencyMs;
    if (rtt === undefined || !(rtt >= 0)) return;
    if (Number.isNaN(load.latency) || rtt > load.latency) {
      load.latency = rtt;
    } else {
      const w = Math.exp(-(now - load.stamp) / this.#decay);
      load.latency = load.latency * w + rtt * (1 - w);
    }
    load.stamp = now;
  }

  #cost(instance: Instance): number {
    const load = this.#loads.get(instance.id);
    if (!load) return 0;
    if (Number.isNaN(load.latency)) return load.inflight === 0 ? 0 : this.#penalty + load.inflight;
    const age = this.#now - load.stamp;
    const latency = age > 0 ? load.latency * Math.exp(-age / this.#decay) : load.latency;
    return latency * (load.inflight + 1);
  }

  /** Once per snapshot: drop what we know about instances that left and have nothing in flight. */
  #forgetDeparted(instances: readonly Instance[]): void {
    this.#snapshot = instances;
    if (this.#loads.size <= instances.length) return;
    const present = new Set<string>();
    for (const instance of instances) present.add(instance.id);
    for (const [id, load] of this.#loads) if (!present.has(id) && load.inflight === 0) this.#loads.delete(id);
  }
}

export const peakEwma = (options?: PeakEwmaOptions): Balancer => new PeakEwmaBalancer(options);

registerBalancer('peak_ewma', peakEwma);
