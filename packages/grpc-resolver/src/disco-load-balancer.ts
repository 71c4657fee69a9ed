import { createBalancer, type Balancer, type Instance } from '@disco/core';
import { connectivityState as ConnectivityState, experimental, type ChannelOptions } from '@grpc/grpc-js';
import { DiscoLoadBalancingConfig, policyName } from './disco-config.js';
import { DiscoPicker } from './disco-picker.js';
import { instanceOf, syntheticInstance } from './endpoint-instance.js';

interface Child {
  readonly subchannel: experimental.SubchannelInterface;
  readonly listener: experimental.ConnectivityStateListener;
  /** What the balancer sees: the resolver's Instance, or a stand-in (weight 1). */
  instance: Instance;
  state: ConnectivityState;
}

type EndpointUpdate = experimental.StatusOr<experimental.Endpoint[]> | experimental.Endpoint[];

/**
 * The `disco` load-balancing policy: one subchannel per endpoint, connected eagerly and
 * reconnected when it goes idle; picks among READY ones with a disco balancer created by
 * name from the service config. Works across grpc-js 1.10 - 1.14 (see README: the
 * constructor and updateAddressList changed shape between those releases).
 */
export class DiscoLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  // grpc-js < 1.13 passes the channel options to the constructor (last argument) and
  // resolver attributes to updateAddressList; >= 1.13 passes channel options there.
  readonly #optionsFromConstructor: boolean;
  #channelOptions: ChannelOptions;
  #children = new Map<string, Child>();
  #order: Child[] = [];
  #config: DiscoLoadBalancingConfig | undefined;
  #balancer: Balancer | undefined;
  #balancerError: string | undefined;
  #balancerRequest: object | undefined;
  #lastError: string | null = null;
  #destroyed = false;

  constructor(helper: experimental.ChannelControlHelper, ...legacy: unknown[]) {
    this.#helper = helper;
    const options = legacy.at(-1);
    this.#optionsFromConstructor = typeof options === 'object' && options !== null;
    this.#channelOptions = this.#optionsFromConstructor ? (options as ChannelOptions) : {};
  }

  updateAddressList(update: EndpointUpdate, config: experimental.TypedLoadBalancingConfig, options?: unknown): boolean {
    if (!(config instanceof DiscoLoadBalancingConfig)) return false;
    this.#destroyed = false;
    if (!this.#optionsFromConstructor && typeof options === 'object' && options !== null) this.#channelOptions = options as ChannelOptions;
    this.#useBalancer(config);
    let endpoints: experimental.Endpoint[];
    if (Array.isArray(update)) endpoints = update;
    else if (update.ok) endpoints = update.value;
    else {
      // Keep serving the last good list; fail only when there is none.
      if (this.#children.size === 0) {
        this.#lastError = update.error.details;
        this.#report();
      }
      return true;
    }
    const next = new Map<string, Child>();
    const order: Child[] = [];
    for (const endpoint of endpoints) {
      // One subchannel per endpoint on its first address; a second endpoint at the same address is the same backend.
      const address = endpoint.addresses[0];
      if (!address) continue;
      const key = experimental.subchannelAddressToString(address);
      if (next.has(key)) continue;
      const child = this.#children.get(key) ?? this.#createChild(address, key);
      const instance = instanceOf(endpoint);
      if (instance) child.instance = instance;
      next.set(key, child);
      order.push(child);
    }
    for (const [key, child] of this.#children) if (!next.has(key)) this.#releaseChild(child);
    this.#children = next;
    this.#order = order;
    this.#lastError = order.length === 0 ? 'the service has no instances' : null;
    this.#report();
    return true;
  }

  exitIdle(): void {
    for (const child of this.#order) if (child.state === ConnectivityState.IDLE) child.subchannel.startConnecting();
  }

  resetBackoff(): void {
    // Subchannels own their reconnect backoff; nothing is held here.
  }

  destroy(): void {
    this.#destroyed = true;
    for (const child of this.#children.values()) this.#releaseChild(child);
    this.#children = new Map();
    this.#order = [];
    this.#balancer = undefined;
    this.#balancerRequest = undefined;
    this.#config = undefined;
  }

  getTypeName(): string {
    return policyName;
  }

  #createChild(address: experimental.SubchannelAddress, key: string): Child {
    const subchannel = this.#helper.createSubchannel(address, this.#channelOptions);
    const child: Child = {
      subchannel,
      instance: syntheticInstance(address, key),
      state: subchannel.getConnectivityState(),
      listener: (_subchannel, previous, state, _keepalive, errorMessage) => {
        child.state = state;
        if (state === ConnectivityState.TRANSIENT_FAILURE && errorMessage) this.#lastError = errorMessage;
        // Like grpc-js's round_robin: an idle subchannel reconnects at once (its backoff applies).
        if (state === ConnectivityState.IDLE) subchannel.startConnecting();
        if (previous === ConnectivityState.READY) this.#helper.requestReresolution();
        this.#report();
      },
    };
    subchannel.ref();
    this.#helper.addChannelzChild(subchannel.getChannelzRef());
    subchannel.addConnectivityStateListener(child.listener);
    if (child.state === ConnectivityState.IDLE) subchannel.startConnecting();
    return child;
  }

  #releaseChild(child: Child): void {
    child.subchannel.removeConnectivityStateListener(child.listener);
    child.subchannel.unref();
    this.#helper.removeChannelzChild(child.subchannel.getChannelzRef());
  }

  #useBalancer(config: DiscoLoadBalancingConfig): void {
    const previous = this.#config;
    this.#config = config;
    if (previous && previous.sameBalancer(config) && previous.problem === config.problem && (this.#balancer || this.#balancerRequest)) return;
    const request = {};
    this.#balancerRequest = request;
    this.#balancer = undefined;
    this.#balancerError = undefined;
    if (config.problem !== undefined) {
      this.#balancerError = `disco: invalid load-balancing config: ${config.problem}`;
      return;
    }
    createBalancer(config.balancer, config.options).then(
      (balancer) => {
        if (this.#balancerRequest !== request || this.#destroyed) return;
        this.#balancer = balancer;
        this.#report();
      },
      (error: unknown) => {
        if (this.#balancerRequest !== request || this.#destroyed) return;
        this.#balancerError = `disco: cannot create balancer "${config.balancer}": ${error instanceof Error ? error.message : String(error)}`;
        this.#report();
      },
    );
  }

  /** Tells the channel the aggregate state, with a picker over the READY subchannels. */
  #report(): void {
    if (this.#destroyed) return;
    if (this.#balancerError !== undefined) {
      this.#updateState(ConnectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ details: this.#balancerError }), this.#balancerError);
      return;
    }
    const ready: Instance[] = [];
    const subchannels = new Map<Instance, experimental.SubchannelInterface>();
    let connecting = false;
    for (const child of this.#order) {
      if (child.state === ConnectivityState.READY) {
        ready.push(child.instance);
        subchannels.set(child.instance, child.subchannel);
      } else if (child.state === ConnectivityState.CONNECTING || child.state === ConnectivityState.IDLE) {
        connecting = true;
      }
    }
    const config = this.#config;
    if (ready.length > 0 && this.#balancer && config) {
      const picker = new DiscoPicker(this.#balancer, Object.freeze(ready), subchannels, config.keyHeader, config.zone);
      this.#updateState(ConnectivityState.READY, picker, null);
    } else if (connecting || (ready.length > 0 && !this.#balancer)) {
      this.#updateState(ConnectivityState.CONNECTING, new experimental.QueuePicker(this), null);
    } else {
      const details = `disco: no ready instance (${this.#lastError ?? 'connecting'})`;
      this.#updateState(ConnectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ details }), details);
    }
  }

  #updateState(state: ConnectivityState, picker: experimental.Picker, error: string | null): void {
    this.#helper.updateState(state, picker, error);
  }
}

let registered = false;

/** Registers the `disco` policy with grpc-js (idempotent; registerDiscoveryResolver does it too). */
export function registerDiscoLoadBalancer(): void {
  if (registered) return;
  registered = true;
  experimental.registerLoadBalancerType(policyName, DiscoLoadBalancer, DiscoLoadBalancingConfig);
}
