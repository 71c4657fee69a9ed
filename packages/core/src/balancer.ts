import { ConfigError, ProviderNotInstalledError } from './errors.js';
import { importInstalled, namesMissingPackage } from './import-installed.js';
import type { Instance } from './service.js';

/** Per-call hints to a balancer. */
export interface PickContext {
  /** Affinity key for consistent-hash balancers (user id, session id, ...). */
  readonly key?: string;
  /** The caller's zone, for zone-aware balancing. */
  readonly zone?: string;
}

export interface CallOutcome {
  readonly ok: boolean;
  readonly latencyMs?: number;
}

/**
 * Chooses one instance. `pick` is on the hot path: it must do no I/O, allocate nothing and
 * not read the clock. One balancer object serves one service (its state is per service).
 * `onStart` / `onEnd` are called around each call made through `handle.acquire()`.
 */
export interface Balancer {
  readonly name: string;
  pick(instances: readonly Instance[], context?: PickContext): Instance | undefined;
  onStart?(instance: Instance): void;
  onEnd?(instance: Instance, outcome: CallOutcome): void;
}

export type BalancerFactory = (options?: Record<string, unknown>) => Balancer;

/** A balancer by registered name, a factory (called once per service), or an instance. */
export type BalancerSpec = string | BalancerFactory | Balancer;

const registry = new Map<string, BalancerFactory>();
const balancersPackage = '@disco/balancers';

/** Makes `balancer: name` (and `DISCOVERY_BALANCER=name`) select this strategy. */
export function registerBalancer(name: string, factory: BalancerFactory): void {
  registry.set(name, factory);
}

export function registeredBalancers(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Creates the balancer for one service. A name that is not registered yet imports
 * `@disco/balancers` (which registers its strategies) from where the application installed it
 * before giving up; a bundle imports it itself, so every strategy is registered already.
 */
export async function createBalancer(spec: BalancerSpec, options?: Record<string, unknown>): Promise<Balancer> {
  if (typeof spec === 'function') return spec(options);
  if (typeof spec === 'object') return spec;
  if (!registry.has(spec)) {
    try {
      await importInstalled(balancersPackage);
    } catch (error) {
      if (!namesMissingPackage(error, balancersPackage)) throw error;
      throw new ProviderNotInstalledError(`balancer "${spec}"`, balancersPackage, [], { cause: error });
    }
  }
  return createRegisteredBalancer(spec, options);
}

/**
 * Creates a strategy that is registered already, synchronously (a wrapper building its inner
 * strategy by name uses this); an unknown name is an `ERR_CONFIG` listing the known ones.
 */
export function createRegisteredBalancer(name: string, options?: Record<string, unknown>): Balancer {
  const factory = registry.get(name);
  if (!factory) throw new ConfigError(`unknown balancer "${name}"; known: ${registeredBalancers().join(', ')}`, 'balancer');
  return factory(options);
}
