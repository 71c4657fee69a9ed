export * from './errors.js';
export { parseDuration, tryParseDuration, type Duration } from './duration.js';
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
export { createRedactor, silentLogger, type Logger } from './logger.js';
export { reconcile, sameSnapshot } from './snapshot.js';
export { Backoff, jitter, type BackoffOptions } from './backoff.js';
export { abortable, delay, throwIfAborted } from './abort.js';
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
export { createDiscovery, Discovery, type DiscoveryConfig, type DiscoveryEvents, type FilterOptions, type ServiceOptions } from './discovery.js';
export { ServiceHandle, type Lease } from './service-handle.js';
export { configFromEnv, environmentVariables } from './config.js';
export { onShutdown, type ShutdownOptions } from './shutdown.js';
export { providerNames, type ProviderName } from './provider-loader.js';
export { staticProvider, StaticProvider, type StaticProviderOptions } from './static/static-provider.js';
export { parseCompactInstances, type StaticInstance, type StaticServices } from './static/static-records.js';
export { pollingWatch } from './polling-watch.js';
export { toDiscoveryError } from './to-discovery-error.js';
export { applyFilter, type InstanceFilter } from './instance-filter.js';
export { HealthAgent, type HealthAgentHooks } from './health/health-agent.js';
export { assertHealthStatus, getProbe, registerProbe, type HealthProbe, type HealthStatus, type ProbeKind, type ProbeOptions } from './health/probe.js';
export { httpProbe } from './health/http-probe.js';
export { tcpProbe } from './health/tcp-probe.js';
export { parseHostPort } from './validate.js';
export { Listeners, unsubscribeOnAbort } from './listeners.js';
export { WatchPool, type WatchPoolBackend } from './watch-pool.js';
