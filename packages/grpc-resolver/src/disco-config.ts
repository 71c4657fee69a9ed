import type { experimental } from '@grpc/grpc-js';

/** The `disco` entry of a service config's `loadBalancingConfig`. */
export interface DiscoPolicyOptions {
  /** A disco balancer by registered name (`round_robin`, `p2c`, `peak_ewma`, ...). Default round_robin. */
  balancer?: string;
  /** Passed to the balancer's factory. */
  options?: Record<string, unknown>;
  /** Request metadata key whose value becomes `PickContext.key` (for ring_hash / maglev). */
  keyHeader?: string;
  /** The caller's zone, passed as `PickContext.zone` (for zone-aware balancers). */
  zone?: string;
}

export const policyName = 'disco';

export class DiscoLoadBalancingConfig implements experimental.TypedLoadBalancingConfig {
  readonly balancer: string;
  readonly options: Record<string, unknown> | undefined;
  readonly keyHeader: string | undefined;
  readonly zone: string | undefined;
  /** Why the JSON config was rejected; calls fail with this message. */
  problem: string | undefined;

  constructor(config: DiscoPolicyOptions = {}) {
    this.balancer = config.balancer ?? 'round_robin';
    this.options = config.options;
    this.keyHeader = config.keyHeader?.toLowerCase();
    this.zone = config.zone;
  }

  getLoadBalancerName(): string {
    return policyName;
  }

  toJsonObject(): object {
    return { [policyName]: { balancer: this.balancer, options: this.options, keyHeader: this.keyHeader, zone: this.zone } };
  }

  /** Same balancer and balancer options: the balancer (and its state) can be kept. */
  sameBalancer(other: DiscoLoadBalancingConfig): boolean {
    return this.balancer === other.balancer && JSON.stringify(this.options) === JSON.stringify(other.options);
  }

  /**
   * grpc-js calls this with the parsed JSON. A throw here would make grpc-js fall back to
   * pick_first silently, so a malformed config becomes one whose calls fail with UNAVAILABLE
   * saying what is wrong (see `problem`).
   */
  static createFromJson(json: unknown): DiscoLoadBalancingConfig {
    try {
      return new DiscoLoadBalancingConfig(validate(json));
    } catch (error) {
      const config = new DiscoLoadBalancingConfig();
      config.problem = (error as Error).message;
      return config;
    }
  }
}

const fields = ['balancer', 'options', 'keyHeader', 'zone'];

function validate(json: unknown): DiscoPolicyOptions {
  if (json === undefined || json === null) return {};
  if (typeof json !== 'object' || Array.isArray(json)) throw new TypeError(`disco load-balancing config must be an object; got ${JSON.stringify(json)}`);
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!fields.includes(key)) throw new TypeError(`disco load-balancing config has unknown field "${key}"; known: ${fields.join(', ')}`);
  }
  const { balancer, options, keyHeader, zone } = obj;
  if (balancer !== undefined && (typeof balancer !== 'string' || balancer === '')) {
    throw new TypeError(`disco load-balancing config: "balancer" must be a balancer name like "p2c"; got ${JSON.stringify(balancer)}`);
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new TypeError(`disco load-balancing config: "options" must be an object; got ${JSON.stringify(options)}`);
  }
  if (keyHeader !== undefined && (typeof keyHeader !== 'string' || keyHeader === '')) {
    throw new TypeError(`disco load-balancing config: "keyHeader" must be a metadata key; got ${JSON.stringify(keyHeader)}`);
  }
  if (zone !== undefined && typeof zone !== 'string') {
    throw new TypeError(`disco load-balancing config: "zone" must be a string; got ${JSON.stringify(zone)}`);
  }
  return {
    balancer: balancer as string | undefined,
    options: options as Record<string, unknown> | undefined,
    keyHeader: keyHeader as string | undefined,
    zone: zone as string | undefined,
  } as DiscoPolicyOptions;
}

/** `{loadBalancingConfig: [{disco: {...}}]}`, for the `grpc.service_config` channel option (as JSON). */
export function discoServiceConfig(options: DiscoPolicyOptions = {}): { loadBalancingConfig: object[] } {
  return { loadBalancingConfig: [new DiscoLoadBalancingConfig(options).toJsonObject()] };
}
