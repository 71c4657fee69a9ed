import { ConfigError, type Instance, type Unsubscribe, type WatchListener } from '@disco/core';
import { experimental, Metadata, status as Status, type ChannelOptions } from '@grpc/grpc-js';
import { parseTarget, type DiscoveryTarget } from './discovery-target.js';
import { endpointFor } from './endpoint-instance.js';
import { registerDiscoLoadBalancer } from './disco-load-balancer.js';

/** What the resolver needs of a Discovery: its `watch`. */
export interface WatchSource {
  watch(name: string, listener: WatchListener, options?: { tags?: readonly string[] }): Unsubscribe;
}

export interface DiscoveryResolverOptions {
  /** URI scheme of the targets this Discovery answers: `<scheme>:///<service>`. Default "discovery". */
  scheme?: string;
}

interface Binding {
  readonly source: WatchSource;
  readonly resolvers: Set<DiscoveryResolver>;
}

// grpc-js has no way to unregister a resolver class, so each scheme's class stays registered
// and looks its Discovery up here; unregistering removes the binding.
const bindings = new Map<string, Binding>();
const registeredSchemes = new Set<string>();
const builtinSchemes = new Set(['dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract', 'xds', 'google-c2p']);

// grpc-js >= 1.14 hands a function taking StatusOr<Endpoint[]>; 1.10 - 1.13 an object.
type LegacyListener = {
  onSuccessfulResolution(endpoints: experimental.Endpoint[], serviceConfig: null, serviceConfigError: null, configSelector: null, attributes: object): void;
  onError(error: { code: number; details: string; metadata: Metadata }): void;
};
type AnyListener = experimental.ResolverListener | LegacyListener;

/**
 * Follows one service through `discovery.watch` and hands every snapshot to the channel.
 * Deliveries are coalesced on a microtask, so the listener is never called synchronously
 * from the constructor or `updateResolution`.
 */
class DiscoveryResolver implements experimental.Resolver {
  readonly #scheme: string;
  readonly #listener: AnyListener;
  readonly #target: DiscoveryTarget | Error;
  #unsubscribe: Unsubscribe | undefined;
  #latest: { readonly instances: readonly Instance[] } | { readonly error: Error } | undefined;
  #delivered = false;
  #scheduled = false;
  #generation = 0;

  constructor(scheme: string, target: experimental.GrpcUri, listener: AnyListener) {
    this.#scheme = scheme;
    this.#listener = listener;
    try {
      this.#target = parseTarget(target);
    } catch (error) {
      this.#target = error as Error;
    }
  }

  updateResolution(): void {
    if (this.#unsubscribe) {
      // Already following the watch: a re-resolution request gets the latest snapshot again.
      if (this.#latest) this.#schedule();
      return;
    }
    const binding = bindings.get(this.#scheme);
    if (this.#target instanceof Error) return this.#fail(this.#target);
    if (!binding) {
      return this.#fail(new ConfigError(`no Discovery is registered for the gRPC scheme "${this.#scheme}"; call registerDiscoveryResolver(discovery)`));
    }
    const { name, tags } = this.#target;
    try {
      const listener: WatchListener = (event) => {
        this.#latest = event;
        this.#schedule();
      };
      this.#unsubscribe = binding.source.watch(name, listener, tags.length > 0 ? { tags } : {});
      binding.resolvers.add(this);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  destroy(): void {
    this.#generation++;
    this.#scheduled = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#latest = undefined;
    this.#delivered = false;
    bindings.get(this.#scheme)?.resolvers.delete(this);
  }

  /** The binding went away: stop watching and tell the channel. */
  unbind(): void {
    this.destroy();
    this.#fail(new ConfigError(`the Discovery for the gRPC scheme "${this.#scheme}" was unregistered`));
  }

  #fail(error: Error): void {
    this.#latest = { error };
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const generation = this.#generation;
    queueMicrotask(() => {
      if (generation !== this.#generation) return;
      this.#scheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    const event = this.#latest;
    if (!event) return;
    const listener = this.#listener;
    if ('instances' in event) {
      this.#delivered = true;
      const endpoints = event.instances.map(endpointFor);
      if (typeof listener === 'function') listener({ ok: true, value: endpoints }, {}, null, '');
      else listener.onSuccessfulResolution(endpoints, null, null, null, {});
      return;
    }
    // A watch error means "what you hold may be stale": keep serving the last good list.
    if (this.#delivered) return;
    const error = { code: Status.UNAVAILABLE, details: `disco: ${event.error.message}`, metadata: new Metadata() };
    if (typeof listener === 'function') listener({ ok: false, error }, {}, null, '');
    else listener.onError(error);
  }
}

/**
 * Makes channels for `<scheme>:///<service>` get their addresses from `discovery.watch` and
 * follow every change. Also registers the `disco` load-balancing policy. Returns a function
 * that unbinds the Discovery: resolvers stop watching and new channels fail with UNAVAILABLE.
 */
export function registerDiscoveryResolver(discovery: WatchSource, options: DiscoveryResolverOptions = {}): () => void {
  const scheme = options.scheme ?? 'discovery';
  if (!/^[a-z][a-z0-9+.-]*$/i.test(scheme)) throw new ConfigError(`gRPC scheme must be a URI scheme like "discovery"; got ${JSON.stringify(scheme)}`, 'scheme');
  if (builtinSchemes.has(scheme)) throw new ConfigError(`gRPC scheme "${scheme}" belongs to grpc-js; choose another`, 'scheme');
  if (typeof discovery?.watch !== 'function') throw new ConfigError('registerDiscoveryResolver needs a Discovery (an object with watch())', 'discovery');
  if (bindings.has(scheme)) throw new ConfigError(`gRPC scheme "${scheme}" is already bound to a Discovery; call the unregister function it returned first`, 'scheme');
  const binding: Binding = { source: discovery, resolvers: new Set() };
  bindings.set(scheme, binding);
  if (!registeredSchemes.has(scheme)) {
    registeredSchemes.add(scheme);
    experimental.registerResolver(scheme, resolverClass(scheme));
  }
  registerDiscoLoadBalancer();
  return () => {
    if (bindings.get(scheme) !== binding) return;
    bindings.delete(scheme);
    for (const resolver of [...binding.resolvers]) resolver.unbind();
  };
}

function resolverClass(scheme: string): Parameters<typeof experimental.registerResolver>[1] {
  return class extends DiscoveryResolver {
    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return parseTarget(target).name;
    }

    constructor(target: experimental.GrpcUri, listener: experimental.ResolverListener, _options: ChannelOptions) {
      super(scheme, target, listener);
    }
  };
}
