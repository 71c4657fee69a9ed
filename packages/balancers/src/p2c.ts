import { registerBalancer, type Balancer, type CallOutcome, type Instance } from '@disco/core';
import { InflightCounts } from './inflight.js';
import { OptionReader } from './options.js';
import { Rng, type RandomSource } from './random-source.js';

export interface P2cOptions {
  /** Uniform numbers in [0, 1), e.g. `seededRandom(1)`; default: a generator seeded once from `Math.random`. */
  random?: RandomSource;
}

/**
 * Power of two choices: sample two distinct instances, take the one with fewer calls in
 * flight. Nearly as good as least connections, O(1), and it does not send every caller to the
 * same idle instance at once.
 */
class P2cBalancer implements Balancer {
  readonly name = 'p2c';
  readonly #random: Rng;
  readonly #inflight = new InflightCounts();

  constructor(options: P2cOptions | undefined) {
    this.#random = Rng.from(new OptionReader('p2c', options, ['random']).random());
  }

  pick(instances: readonly Instance[]): Instance | undefined {
    const n = instances.length;
    if (n < 2) return instances[0];
    const i = this.#random.index(n);
    let j = this.#random.index(n - 1);
    if (j >= i) j++;
    const a = instances[i]!;
    const b = instances[j]!;
    // A tie keeps `a`, itself a uniform choice.
    return this.#inflight.get(b) < this.#inflight.get(a) ? b : a;
  }

  onStart(instance: Instance): void {
    this.#inflight.start(instance);
  }

  onEnd(instance: Instance, _outcome: CallOutcome): void {
    this.#inflight.end(instance);
  }
}

export const p2c = (options?: P2cOptions): Balancer => new P2cBalancer(options);

registerBalancer('p2c', p2c);
