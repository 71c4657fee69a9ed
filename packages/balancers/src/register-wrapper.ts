import { ConfigError, createRegisteredBalancer, registerBalancer, registeredBalancers, type Balancer } from '@disco/core';

/**
 * Registers a wrapper by name, so configuration can compose strategies:
 * `balancer: 'outlier_detection', balancerOptions: { child: { zone_aware: { child: 'p2c' } } }`.
 * `child` is the inner strategy, as a registered name or `{ name: options }` (the shape of
 * gRPC's child_policy); round_robin when absent. The other options are the wrapper's own.
 */
export function registerWrapper<O extends object>(name: string, wrap: (inner: Balancer, options?: O) => Balancer): void {
  registerBalancer(name, (options = {}) => {
    const { child = 'round_robin', ...own } = options;
    return wrap(innerStrategy(name, child), own as O);
  });
}

function innerStrategy(wrapper: string, child: unknown): Balancer {
  const [childName, childOptions] = typeof child === 'string' ? [child, undefined] : singleEntry(child);
  if (childName === undefined || (childOptions !== undefined && (typeof childOptions !== 'object' || childOptions === null || Array.isArray(childOptions)))) {
    throw new ConfigError(
      `${wrapper}: option "child" must be a balancer name such as "p2c" or one { name: options } entry such as { "peak_ewma": { "decay": "5s" } }; got ${JSON.stringify(child)}`,
      `${wrapper}.child`,
    );
  }
  if (!registeredBalancers().includes(childName)) {
    throw new ConfigError(`${wrapper}: option "child" names an unknown balancer "${childName}"; known: ${registeredBalancers().join(', ')}`, `${wrapper}.child`);
  }
  return createRegisteredBalancer(childName, childOptions as Record<string, unknown> | undefined);
}

function singleEntry(value: unknown): [string | undefined, unknown] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [undefined, undefined];
  const entries = Object.entries(value);
  return entries.length === 1 ? entries[0]! : [undefined, undefined];
}
