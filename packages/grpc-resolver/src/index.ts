export { registerDiscoveryResolver, type DiscoveryResolverOptions, type WatchSource } from './discovery-resolver.js';
export { DiscoLoadBalancer, registerDiscoLoadBalancer } from './disco-load-balancer.js';
export { DiscoLoadBalancingConfig, discoServiceConfig, type DiscoPolicyOptions } from './disco-config.js';
export { callSucceeded } from './disco-picker.js';
export { createGrpcProbe, grpcProbe, registerGrpcProbe, type GrpcProbeOptions } from './grpc-probe.js';
