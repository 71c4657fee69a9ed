// @disco/core — what an application calls. The provider-author kit (watch engine, sources,
// backoff, reconcile, redaction) is the separate entry point @disco/core/provider.
export * from './errors.js';
export { maxDurationMs, parseDuration, tryParseDuration, type Duration, type DurationOptions } from './duration.js';
export {
  createInstance,
  endpoint,
  instanceFromService,
  sameInstance,
  type HealthCheck,
  type Instance,
  type InstanceInit,
  type Service,
} from './service.js';
export { isValidAddress, isValidPort, serviceProblems, validateService, validateServiceName } from './validate.js';
export type {
  OperationOptions,
  Provider,
  ProviderCapabilities,
  ProviderContext,
  ProviderEvent,
  ProviderModule,
  RegisterOptions,
  Unsubscribe,
  WatchEvent,
  WatchListener,
} from './provider.js';
export { silentLogger, type Logger } from './logger.js';
// Backoff settings appear in provider options; the Backoff class itself is in @disco/core/provider.
export type { BackoffOptions } from './backoff.js';
export {
  createBalancer,
  createRegisteredBalancer,
  registerBalancer,
  registeredBalancers,
  type Balancer,
  type BalancerFactory,
  type BalancerSpec,
  type CallOutcome,
  type PickContext,
} from './balancer.js';
export { roundRobin, RoundRobinBalancer } from './balancers/round-robin.js';
export { createDiscovery, Discovery, type DiscoveryConfig, type ProviderOptionsMap, type DiscoveryEvents, type FilterOptions, type ServiceOptions } from './discovery.js';
export { ServiceHandle, type Lease } from './service-handle.js';
export { configFromEnv, environmentVariables } from './config.js';
export { onShutdown, type ShutdownOptions } from './shutdown.js';
export { providerNames, registerProvider, type ProviderName } from './provider-loader.js';
export { staticProvider, StaticProvider, type StaticProviderOptions } from './static/static-provider.js';
export { parseCompactInstances, type StaticInstance, type StaticServices } from './static/static-records.js';
export { assertHealthStatus, getProbe, registerProbe, type HealthProbe, type HealthStatus, type ProbeKind, type ProbeOptions } from './health/probe.js';
export { httpProbe } from './health/http-probe.js';
export { tcpProbe } from './health/tcp-probe.js';
export {
  channelNames,
  type CallMessage,
  type HealthMessage,
  type OperationContext,
  type ProviderEventMessage,
  type SnapshotMessage,
  type WatchErrorMessage,
  type WatchRecoveredMessage,
} from './diagnostics.js';
