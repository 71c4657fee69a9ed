import { ConfigError, registerBalancer, type Balancer, type Instance, type PickContext } from '@disco/core';
import { hashString } from './hash.js';
import { OptionReader } from './options.js';
import { Rng, type RandomSource } from './random-source.js';

export interface MaglevOptions {
  /**
   * Lookup table size, a prime. Default 65537, or the first prime ≥ 20 × instances when that is
   * larger (shares within a few percent; the paper's 100 × is more even but 5× slower to build).
   */
  tableSize?: number;
  /** For picks without `context.key`; uniform numbers in [0, 1), default: a generator seeded once from `Math.random`. */
  random?: RandomSource;
}

/**
 * Maglev hashing (Google, NSDI 2016): every instance walks its own permutation of a prime-sized
 * table (offset and skip hashed from its id), and instances take turns claiming their next
 * free slot, heavier ones more turns per round. A key is `table[hash(key) % size]`: O(1).
 * Shares are even to within about n/size, and when one of n instances leaves, about 1/n of the
 * keys move (a little more than ring_hash, far more even than it). Picks without a key are random.
 */
class MaglevBalancer implements Balancer {
  readonly name = 'maglev';
  readonly #tableSize: number | undefined;
  readonly #random: Rng;
  #snapshot: readonly Instance[] | undefined;
  #table = new Int32Array(0);

  constructor(options: MaglevOptions | undefined) {
    const read = new OptionReader('maglev', options, ['tableSize', 'random']);
    const size = options?.tableSize === undefined ? undefined : read.integer('tableSize', 65537, 2, 2 ** 26);
    if (size !== undefined && !isPrime(size)) throw new ConfigError(`maglev: option "tableSize" must be a prime number; got ${size} (try ${nextPrime(size)})`, 'maglev.tableSize');
    this.#tableSize = size;
    this.#random = Rng.from(read.random());
  }

  pick(instances: readonly Instance[], context?: PickContext): Instance | undefined {
    const n = instances.length;
    if (n === 0) return undefined;
    const key = context?.key;
    if (key === undefined) return instances[this.#random.index(n)];
    if (instances !== this.#snapshot) this.#build(instances);
    return instances[this.#table[hashString(key) % this.#table.length]!];
  }

  #build(instances: readonly Instance[]): void {
    const n = instances.length;
    this.#snapshot = instances;
    const size = this.#tableSize ?? nextPrime(Math.max(65537, 20 * n));
    if (size < n) throw new ConfigError(`maglev: tableSize ${size} is smaller than the ${n} instances; use a prime ≥ ${20 * n}`, 'maglev.tableSize');
    const position = new Int32Array(n);
    const skip = new Int32Array(n);
    const share = new Float64Array(n);
    const credit = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const id = instances[i]!.id;
      position[i] = hashString(id, 0x5bd1e995) % size;
      skip[i] = (hashString(id, 0x1b873593) % (size - 1)) + 1;
      const w = instances[i]!.weight;
      share[i] = Number.isFinite(w) && w > 0 ? w : 0;
      if (share[i]! > maxWeight) maxWeight = share[i]!;
    }
    if (maxWeight === 0) share.fill(1);
    else for (let i = 0; i < n; i++) share[i] = share[i]! / maxWeight;
    // Turns go in id order, so the table does not depend on the order of the snapshot.
    const turns = Array.from({ length: n }, (_, i) => i).sort((a, b) => (instances[a]!.id < instances[b]!.id ? -1 : 1));
    const table = new Int32Array(size).fill(-1);
    let filled = 0;
    while (filled < size) {
      for (let t = 0; t < n && filled < size; t++) {
        const i = turns[t]!;
        credit[i]! += share[i]!;
        const step = skip[i]!;
        while (credit[i]! >= 1 && filled < size) {
          credit[i]!--;
          // Walk this instance's permutation (offset + k·skip mod size) to its next free slot.
          let slot = position[i]!;
          while (table[slot]! >= 0) if ((slot += step) >= size) slot -= size;
          table[slot] = i;
          if ((slot += step) >= size) slot -= size;
          position[i] = slot;
          filled++;
        }
      }
    }
    this.#table = table;
  }
}

function isPrime(value: number): boolean {
  if (value < 2) return false;
  if (value % 2 === 0) return value === 2;
  for (let d = 3; d * d <= value; d += 2) if (value % d === 0) return false;
  return true;
}

function nextPrime(value: number): number {
  let candidate = Math.max(2, Math.ceil(value));
  while (!isPrime(candidate)) candidate++;
  return candidate;
}

export const maglev = (options?: MaglevOptions): Balancer => new MaglevBalancer(options);

registerBalancer('maglev', maglev);
