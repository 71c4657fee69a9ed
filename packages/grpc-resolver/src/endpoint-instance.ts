import { createInstance, type Instance } from '@disco/core';
import type { experimental } from '@grpc/grpc-js';

// The resolver hangs the Instance on each endpoint it hands to grpc-js, under a registry-wide
// symbol; grpc-js passes endpoint objects through to the load-balancing policy untouched, so
// the `disco` policy can give balancers the real Instance (weight, zone, metadata).
const instanceKey = Symbol.for('@disco/grpc-resolver.instance');

type TaggedEndpoint = experimental.Endpoint & { [instanceKey]?: Instance };

const endpoints = new WeakMap<Instance, experimental.Endpoint>();

/** The endpoint for an instance; the same object for the same (unchanged) Instance. */
export function endpointFor(instance: Instance): experimental.Endpoint {
  let endpoint = endpoints.get(instance);
  if (!endpoint) {
    // grpc-js wants IPv6 hosts without brackets.
    const host = instance.address.startsWith('[') ? instance.address.slice(1, -1) : instance.address;
    const tagged: TaggedEndpoint = { addresses: [{ host, port: instance.port }], [instanceKey]: instance };
    endpoint = tagged;
    endpoints.set(instance, endpoint);
  }
  return endpoint;
}

/** The Instance the resolver attached, or undefined for endpoints from another resolver. */
export function instanceOf(endpoint: experimental.Endpoint): Instance | undefined {
  return (endpoint as TaggedEndpoint)[instanceKey];
}

/** Stands in for an endpoint that came from another resolver (`ipv4:`, `dns:`): weight 1. */
export function syntheticInstance(address: experimental.SubchannelAddress, key: string): Instance {
  const tcp = 'host' in address ? address : { host: key, port: 0 };
  return createInstance({ id: key, name: key, address: tcp.host, port: tcp.port });
}
