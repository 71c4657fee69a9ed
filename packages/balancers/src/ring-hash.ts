import { registerBalancer, type Balancer, type Instance, type PickContext } from '@disco/core';
import { hashString, mix32 } from './hash.js';
import { OptionReader } from './options.js';
import { Rng, type RandomSource } from './random-source.js';

export interface RingHashOptions {
  /** Points on the ring per instance of average weight. Default 100. */
  replicas?: number;
  /** Upper bound on the ring's points; `replicas` shrinks to fit (beyond 2,621 instances by default). Default 2^18. */
  maxRingSize?: number;
  /** For picks without `context.key`; uniform numbers in [0, 1), default: a generator seeded once from `Math.random`. */
  random?: RandomSource;
}

const ownerBits = 2 ** 21;

/**
 * Consistent hashing on a ring (Karger; ketama): each instance owns `replicas` points placed by
 * hashing its id, in proportion to its weight, and a key goes to the owner of the first point
 * at or after the key's hash. When one of n instances leaves only its keys move (≈ 1/n), and
 * they spread over the rest. Picks without a key are random.
 *
 * The ring is built once per snapshot (hash, then one numeric sort of packed hash|owner
 * values); a pick hashes the key and binary-searches: O(key length + log ring size).
 */
class RingHashBalancer implements Balancer {
  readonly name = 'ring_hash';
  readonly #replicas: number;
  readonly #maxRingSize: number;
  readonly #random: Rng;
  #snapshot: readonly Instance[] | undefined;
  #points = new Uint32Array(0);
  #owners = new Int32Array(0);

  constructor(options: RingHashOptions | undefined) {
    const read = new OptionReader('ring_hash', options, ['replicas', 'maxRingSize', 'random']);
    this.#replicas = read.integer('replicas', 100, 1);
    this.#maxRingSize = read.integer('maxRingSize', 2 ** 18, 1, 2 ** 26);
    this.#random = Rng.from(read.random());
  }

  pick(instances: readonly Instance[], context?: PickContext): Instance | undefined {
    const n = instances.length;
    if (n === 0) return undefined;
    const key = context?.key;
    if (key === undefined) return instances[this.#random.index(n)];
    if (instances !== this.#snapshot) this.#build(instances);
    const points = this.#points;
    const h = hashString(key);
    // First point >= h, wrapping to the start.
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return instances[this.#owners[lo === points.length ? 0 : lo]!];
  }

  #build(instances: readonly Instance[]): void {
    const n = instances.length;
    if (n > ownerBits) throw new RangeError(`ring_hash supports at most ${ownerBits} instances`);
    this.#snapshot = instances;
    let totalWeight = 0;
    for (const instance of instances) totalWeight += usableWeight(instance);
    const scale = Math.min(this.#replicas, this.#maxRingSize / n) * (n / totalWeight);
    const counts = new Int32Array(n);
    let size = 0;
    for (let i = 0; i < n; i++) size += counts[i] = Math.max(1, Math.round(usableWeight(instances[i]!) * scale));
    // Pack hash·2^21 + owner into one exact double so a single numeric sort orders the ring.
    const packed = new Float64Array(size);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const base = hashString(instances[i]!.id);
      for (let r = 0; r < counts[i]!; r++) packed[at++] = mix32(base ^ Math.imul(r + 1, 0x9e3779b9)) * ownerBits + i;
    }
    packed.sort();
    this.#points = new Uint32Array(size);
    this.#owners = new Int32Array(size);
    for (let p = 0; p < size; p++) {
      const hash = Math.floor(packed[p]! / ownerBits);
      this.#points[p] = hash;
      this.#owners[p] = packed[p]! - hash * ownerBits;
    }
  }
}

/** Weight as a share of points; a bad or missing weight counts as 1 so the instance stays reachable. */
function usableWeight(instance: Instance): number {
  const w = instance.weight;
  return Number.isFinite(w) && w > 0 ? w : 1;
}

export const ringHash = (options?: RingHashOptions): Balancer => new RingHashBalancer(options);

registerBalancer('ring_hash', ringHash);
