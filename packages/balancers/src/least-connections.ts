import { registerBalancer, type Balancer, type CallOutcome, type Instance } from '@disco/core';
import { InflightCounts } from './inflight.js';
import { OptionReader } from './options.js';
import { Rng, type RandomSource } from './random-source.js';

export interface LeastConnectionsOptions {
  /** Breaks ties; uniform numbers in [0, 1), default: a generator seeded once from `Math.random`. */
  random?: RandomSource;
}

/**
 * The instance with the fewest calls in flight, ties at random; weights are ignored.
 *
 * O(1) per pick and per start/end at any size: the snapshot's indices are kept sorted by
 * count (`order`), with `start[c]` = how many instances have fewer than `c` calls. A count
 * changes by one, so an instance only swaps with the edge of its block. The least loaded
 * instances are `order[0 .. start[min + 1])`, and one of them is drawn at random.
 */
class LeastConnectionsBalancer implements Balancer {
  readonly name = 'least_connections';
  readonly #random: Rng;
  readonly #inflight = new InflightCounts();
  #snapshot: readonly Instance[] | undefined;
  readonly #index = new Map<string, number>();
  #order = new Int32Array(0);
  #position = new Int32Array(0);
  #count = new Int32Array(0);
  #start = new Int32Array(0);

  constructor(options: LeastConnectionsOptions | undefined) {
    this.#random = Rng.from(new OptionReader('least_connections', options, ['random']).random());
  }

  pick(instances: readonly Instance[]): Instance | undefined {
    const n = instances.length;
    if (n === 0) return undefined;
    if (instances !== this.#snapshot) this.#rebuild(instances);
    const least = this.#count[this.#order[0]!]!;
    const ties = this.#start[least + 1]!;
    return instances[this.#order[this.#random.index(ties)]!];
  }

  onStart(instance: Instance): void {
    this.#inflight.start(instance);
    const i = this.#indexOf(instance);
    if (i === undefined) return;
    const c = this.#count[i]!;
    if (c + 2 >= this.#start.length) this.#growStart(c + 2);
    this.#swap(i, this.#start[c + 1]! - 1);
    this.#start[c + 1]!--;
    this.#count[i] = c + 1;
  }

  onEnd(instance: Instance, _outcome: CallOutcome): void {
    if (this.#inflight.end(instance) === 0) return;
    const i = this.#indexOf(instance);
    if (i === undefined) return;
    const c = this.#count[i]!;
    if (c === 0) return;
    this.#swap(i, this.#start[c]!);
    this.#start[c]!++;
    this.#count[i] = c - 1;
  }

  #indexOf(instance: Instance): number | undefined {
    const i = this.#index.get(instance.id);
    return i !== undefined && this.#snapshot?.[i]?.id === instance.id ? i : undefined;
  }

  /** Moves instance `i` to sorted position `to`, swapping with whoever is there. */
  #swap(i: number, to: number): void {
    const from = this.#position[i]!;
    const other = this.#order[to]!;
    this.#order[from] = other;
    this.#position[other] = from;
    this.#order[to] = i;
    this.#position[i] = to;
  }

  #growStart(size: number): void {
    const grown = new Int32Array(Math.max(size + 1, this.#start.length * 2));
    grown.set(this.#start);
    grown.fill(this.#snapshot?.length ?? 0, this.#start.length);
    this.#start = grown;
  }

  /** Once per snapshot: carry the in-flight counts (by id) into the sorted arrays. */
  #rebuild(instances: readonly Instance[]): void {
    const n = instances.length;
    this.#snapshot = instances;
    this.#index.clear();
    this.#count = new Int32Array(n);
    let max = 0;
    for (let i = 0; i < n; i++) {
      const instance = instances[i]!;
      this.#index.set(instance.id, i);
      const c = this.#inflight.get(instance);
      this.#count[i] = c;
      if (c > max) max = c;
    }
    this.#start = new Int32Array(max + 8);
    for (let i = 0; i < n; i++) this.#start[this.#count[i]! + 1]!++;
    for (let c = 1; c < this.#start.length; c++) this.#start[c]! += this.#start[c - 1]!;
    // Counting sort: instance i goes after everything with a smaller count.
    const next = this.#start.slice();
    this.#order = new Int32Array(n);
    this.#position = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const at = next[this.#count[i]!]!++;
      this.#order[at] = i;
      this.#position[i] = at;
    }
  }
}

export const leastConnections = (options?: LeastConnectionsOptions): Balancer => new LeastConnectionsBalancer(options);

registerBalancer('least_connections', leastConnections);
