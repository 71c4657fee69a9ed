import { registerBalancer, type Balancer, type Instance } from '@disco/core';
import { OptionReader } from './options.js';
import { Rng, type RandomSource } from './random-source.js';

export interface RandomOptions {
  /** Uniform numbers in [0, 1), e.g. `seededRandom(1)`; default: a generator seeded once from `Math.random`. */
  random?: RandomSource;
}

/** Any instance, uniformly; weights are ignored. Stateless, so it never herds after an update. */
class RandomBalancer implements Balancer {
  readonly name = 'random';
  readonly #random: Rng;

  constructor(options: RandomOptions | undefined) {
    this.#random = Rng.from(new OptionReader('random', options, ['random']).random());
  }

  pick(instances: readonly Instance[]): Instance | undefined {
    const n = instances.length;
    return n === 0 ? undefined : instances[this.#random.index(n)];
  }
}

export const random = (options?: RandomOptions): Balancer => new RandomBalancer(options);

registerBalancer('random', random);
