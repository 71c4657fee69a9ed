import { registerBalancer, type Balancer, type Instance } from '@disco/core';
import { hashString } from './hash.js';
import { OptionReader } from './options.js';

export interface WeightedRoundRobinOptions {
  /**
   * Up to this many distinct weights, picks follow nginx's smooth weighted round robin
   * exactly; above it, a heap-based schedule with the same shares. Default 32.
   */
  maxWeightClasses?: number;
}

/**
 * Smooth weighted round robin, as nginx does it: every pick adds each instance's weight to its
 * `current`, takes the largest `current` (first in order on a tie) and subtracts the total.
 * Heavy instances are spread out (weights 5,1,1 give a a b a c a a) instead of bunched.
 *
 * nginx's loop is O(n) per pick. After t picks an instance's `current` is `w·t − W·picks`,
 * so instances of equal weight keep their relative order and take turns: one cursor per
 * distinct weight reproduces nginx's sequence in O(distinct weights) per pick — O(1) for
 * 10,000 instances of weight 1. With more distinct weights than `maxWeightClasses`, picks use
 * a binary heap ordered by (picks + phase) / weight (stride scheduling): O(log n), the same
 * long-run shares, each instance evenly spaced in virtual time, but not nginx's exact order.
 *
 * Weights that are not positive finite numbers count as 0 (never picked), unless every weight
 * is, then all count as 1. The schedule restarts when the snapshot changes.
 */
class WeightedRoundRobinBalancer implements Balancer {
  readonly name = 'weighted_round_robin';
  readonly #maxClasses: number;
  #snapshot: readonly Instance[] | undefined;
  #schedule: Schedule = emptySchedule;

  constructor(options: WeightedRoundRobinOptions | undefined) {
    this.#maxClasses = new OptionReader('weighted_round_robin', options, ['maxWeightClasses']).integer('maxWeightClasses', 32, 1);
  }

  pick(instances: readonly Instance[]): Instance | undefined {
    if (instances.length === 0) return undefined;
    if (instances !== this.#snapshot) {
      this.#snapshot = instances;
      this.#schedule = makeSchedule(instances, this.#maxClasses);
    }
    return instances[this.#schedule.next()];
  }
}

interface Schedule {
  /** Index of the next instance. */
  next(): number;
}

const emptySchedule: Schedule = { next: () => 0 };

function weightsOf(instances: readonly Instance[]): Float64Array {
  const weights = new Float64Array(instances.length);
  let any = false;
  for (let i = 0; i < instances.length; i++) {
    const w = instances[i]!.weight;
    if (Number.isFinite(w) && w > 0) {
      weights[i] = w;
      any = true;
    }
  }
  if (!any) weights.fill(1);
  return weights;
}

function makeSchedule(instances: readonly Instance[], maxClasses: number): Schedule {
  const weights = weightsOf(instances);
  const classes = new Map<number, number[]>();
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w === 0) continue;
    const members = classes.get(w);
    if (members) members.push(i);
    else if (classes.size < maxClasses) classes.set(w, [i]);
    else return new StrideSchedule(weights, instances);
  }
  return new SmoothSchedule(classes);
}

/** nginx's smooth WRR, one cursor per distinct weight (see the class comment above). */
class SmoothSchedule implements Schedule {
  readonly #weight: Float64Array;
  readonly #members: Int32Array;
  /** Members of class g are `members[from[g] .. from[g + 1])`, in snapshot order. */
  readonly #from: Int32Array;
  readonly #cursor: Int32Array;
  /** Full turns class g has taken: picks of its members that are already past the cursor, minus one. */
  readonly #turns: Float64Array;
  readonly #total: number;
  #t = 0;

  constructor(classes: Map<number, number[]>) {
    const k = classes.size;
    this.#weight = new Float64Array(k);
    this.#from = new Int32Array(k + 1);
    this.#cursor = new Int32Array(k);
    this.#turns = new Float64Array(k);
    const members: number[] = [];
    let g = 0;
    let total = 0;
    for (const [w, indices] of classes) {
      this.#weight[g] = w;
      this.#from[g] = members.length;
      for (const i of indices) members.push(i);
      total += w * indices.length;
      g++;
    }
    this.#from[k] = members.length;
    this.#members = Int32Array.from(members);
    this.#total = total;
  }

  next(): number {
    const t = ++this.#t;
    const k = this.#weight.length;
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    let bestIndex = 0;
    for (let g = 0; g < k; g++) {
      // Every member at or after the cursor has been picked `turns` times: current = w·t − W·turns.
      const value = this.#weight[g]! * t - this.#total * this.#turns[g]!;
      const index = this.#members[this.#from[g]! + this.#cursor[g]!]!;
      if (value > bestValue || (value === bestValue && index < bestIndex)) {
        best = g;
        bestValue = value;
        bestIndex = index;
      }
    }
    const size = this.#from[best + 1]! - this.#from[best]!;
    if (++this.#cursor[best]! === size) {
      this.#cursor[best] = 0;
      this.#turns[best]!++;
    }
    return bestIndex;
  }
}

/**
 * Stride scheduling: a min-heap of instances keyed by (picks + phase) / weight, ties by index.
 * The phase in [0, 1) is hashed from the id: with one shared phase, instances of similar weight
 * stay in lockstep and come in bursts; spread phases interleave them.
 */
class StrideSchedule implements Schedule {
  readonly #step: Float64Array;
  readonly #key: Float64Array;
  readonly #heap: Int32Array;
  readonly #size: number;

  constructor(weights: Float64Array, instances: readonly Instance[]) {
    const n = weights.length;
    this.#step = new Float64Array(n);
    this.#key = new Float64Array(n);
    this.#heap = new Int32Array(n);
    let size = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (w === 0) continue;
      this.#step[i] = 1 / w;
      this.#key[i] = hashString(instances[i]!.id) / 2 ** 32 / w;
      this.#heap[size++] = i;
    }
    this.#size = size;
    for (let at = (size >> 1) - 1; at >= 0; at--) this.#siftDown(at);
  }

  next(): number {
    const i = this.#heap[0]!;
    this.#key[i]! += this.#step[i]!;
    this.#siftDown(0);
    return i;
  }

  #before(a: number, b: number): boolean {
    const ka = this.#key[a]!;
    const kb = this.#key[b]!;
    return ka < kb || (ka === kb && a < b);
  }

  #siftDown(at: number): void {
    const heap = this.#heap;
    const item = heap[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.#size) break;
      if (child + 1 < this.#size && this.#before(heap[child + 1]!, heap[child]!)) child++;
      if (!this.#before(heap[child]!, item)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = item;
  }
}

export const weightedRoundRobin = (options?: WeightedRoundRobinOptions): Balancer => new WeightedRoundRobinBalancer(options);

registerBalancer('weighted_round_robin', weightedRoundRobin);
