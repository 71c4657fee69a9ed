import type { Balancer, Instance, PickContext } from '@disco/core';
import { experimental, Metadata, status as Status } from '@grpc/grpc-js';

// Codes that say something about the instance (it failed or is overloaded); the rest, like
// NOT_FOUND or INVALID_ARGUMENT, are answers, and count as ok for the balancer.
const failureCodes: ReadonlySet<number> = new Set([
  Status.UNKNOWN,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
  Status.UNIMPLEMENTED,
  Status.INTERNAL,
  Status.UNAVAILABLE,
  Status.DATA_LOSS,
]);

/** Whether a call that ended with `code` counts as a success of the instance. */
export function callSucceeded(code: number): boolean {
  return !failureCodes.has(code);
}

/**
 * Picks among the READY subchannels with a disco balancer. Balancers that track calls
 * (onStart/onEnd) get the start of each call and its end with latency and outcome.
 */
export class DiscoPicker implements experimental.Picker {
  readonly #balancer: Balancer;
  readonly #instances: readonly Instance[];
  readonly #subchannels: ReadonlyMap<Instance, experimental.SubchannelInterface>;
  readonly #keyHeader: string | undefined;
  readonly #zone: string | undefined;
  readonly #fixedContext: PickContext | undefined;
  readonly #tracks: boolean;
  /** For balancers without hooks: one result per instance, reused by every pick. */
  readonly #fixedResults = new Map<Instance, experimental.PickResult>();

  constructor(
    balancer: Balancer,
    instances: readonly Instance[],
    subchannels: ReadonlyMap<Instance, experimental.SubchannelInterface>,
    keyHeader: string | undefined,
    zone: string | undefined,
  ) {
    this.#balancer = balancer;
    this.#instances = instances;
    this.#subchannels = subchannels;
    this.#keyHeader = keyHeader;
    this.#zone = zone;
    this.#fixedContext = zone === undefined ? undefined : { zone };
    this.#tracks = balancer.onStart !== undefined || balancer.onEnd !== undefined;
    if (!this.#tracks) {
      for (const [instance, subchannel] of subchannels) {
        this.#fixedResults.set(instance, { pickResultType: experimental.PickResultType.COMPLETE, subchannel, status: null, onCallStarted: null, onCallEnded: null });
      }
    }
  }

  pick(args: experimental.PickArgs): experimental.PickResult {
    const instance = this.#balancer.pick(this.#instances, this.#context(args.metadata));
    const subchannel = instance && this.#subchannels.get(instance);
    if (!instance || !subchannel) {
      return {
        pickResultType: experimental.PickResultType.TRANSIENT_FAILURE,
        subchannel: null,
        status: { code: Status.UNAVAILABLE, details: `disco: balancer "${this.#balancer.name}" chose no ready instance`, metadata: new Metadata() },
        onCallStarted: null,
        onCallEnded: null,
      };
    }
    if (!this.#tracks) return this.#fixedResults.get(instance)!;
    const balancer = this.#balancer;
    let started = 0;
    return {
      pickResultType: experimental.PickResultType.COMPLETE,
      subchannel,
      status: null,
      onCallStarted: () => {
        started = performance.now();
        balancer.onStart?.(instance);
      },
      onCallEnded: (code: number) => {
        balancer.onEnd?.(instance, { ok: callSucceeded(code), latencyMs: performance.now() - started });
      },
    };
  }

  #context(metadata: Metadata): PickContext | undefined {
    if (this.#keyHeader === undefined) return this.#fixedContext;
    const value = metadata.get(this.#keyHeader)[0];
    const key = value === undefined ? undefined : value.toString();
    return { ...(key === undefined ? {} : { key }), ...(this.#zone === undefined ? {} : { zone: this.#zone }) };
  }
}
