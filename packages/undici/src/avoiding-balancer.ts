import type { Balancer, CallOutcome, Instance, PickContext } from '@disco/core';

/** A pick for a retry: the ids of the instances this request has already tried. */
export interface AvoidContext extends PickContext {
  readonly avoid: readonly string[];
}

function avoided(context: PickContext | undefined): readonly string[] | undefined {
  const avoid = (context as Partial<AvoidContext> | undefined)?.avoid;
  return avoid !== undefined && avoid.length > 0 ? avoid : undefined;
}

/**
 * Wraps a service's balancer so a retry goes to an instance the request has not tried (Envoy's
 * previous_hosts retry predicate). The balancer is asked again rather than handed a shorter list:
 * balancers key their state to the snapshot they are given (a filtered list would read as the
 * tried instances having left, and drop their failure counts and latencies). A balancer that
 * keeps answering tried instances (a hash for one key) gets no retry: after `2n + 2` picks
 * this answers none. A first attempt costs one extra call.
 */
export class AvoidingBalancer implements Balancer {
  readonly name: string;
  readonly #inner: Balancer;

  constructor(inner: Balancer) {
    this.#inner = inner;
    this.name = inner.name;
  }

  pick(instances: readonly Instance[], context?: PickContext): Instance | undefined {
    const avoid = avoided(context);
    if (avoid === undefined) return this.#inner.pick(instances, context);
    for (let i = 0, tries = 2 * instances.length + 2; i < tries; i++) {
      const instance = this.#inner.pick(instances, context);
      if (instance === undefined) return undefined;
      if (!avoid.includes(instance.id)) return instance;
    }
    return undefined;
  }

  onStart(instance: Instance): void {
    this.#inner.onStart?.(instance);
  }

  onEnd(instance: Instance, outcome: CallOutcome): void {
    this.#inner.onEnd?.(instance, outcome);
  }
}

/** Whether some instance of the snapshot is not among those tried. */
export function hasUntried(instances: readonly Instance[], tried: readonly string[]): boolean {
  for (const instance of instances) if (!tried.includes(instance.id)) return true;
  return false;
}
