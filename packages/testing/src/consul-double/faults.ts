/** One way for the double to misbehave; see {@link Faults}. */
export interface Fault {
  /** Only requests whose path starts with this (default: every request). */
  path?: string;
  /** Answer with this status instead of serving (503 "No cluster leader", 500 …). */
  status?: number;
  /** Body of that answer. Default: "rpc error making call: No cluster leader". */
  body?: string;
  /** Hold the answer this long first (a slow or overloaded agent). */
  delayMs?: number;
  /** Close the connection without answering. */
  drop?: boolean;
  /** How many matching requests it applies to; default: all until removed. */
  times?: number;
}

/**
 * Fault hooks of the Consul double: each fault applies to the requests it matches, in the
 * order they were added, until removed or used up. Index faults (an index that goes
 * backwards, index 0) live on the double itself because they change what it answers.
 */
export class Faults {
  #rules: { fault: Fault; left: number }[] = [];

  /** Adds a fault; returns a function that removes it. */
  add(fault: Fault): () => void {
    const rule = { fault, left: fault.times ?? Number.POSITIVE_INFINITY };
    this.#rules.push(rule);
    return () => {
      this.#rules = this.#rules.filter((r) => r !== rule);
    };
  }

  clear(): void {
    this.#rules = [];
  }

  /** The fault for a request on `path`, consuming one use of it. */
  take(path: string): Fault | undefined {
    const rule = this.#rules.find((r) => r.left > 0 && (r.fault.path === undefined || path.startsWith(r.fault.path)));
    if (!rule) return undefined;
    rule.left--;
    if (rule.left <= 0) this.#rules = this.#rules.filter((r) => r !== rule);
    return rule.fault;
  }
}
