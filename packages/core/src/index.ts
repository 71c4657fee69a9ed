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
  registerBalancer,
  registeredBalancers,
  type Balancer,
  type BalancerFactory,
  type BalancerSpec,
  type CallOutcome,
  type PickContext,
} from './balancer.js';
export { roundRobin, RoundRobinBalancer } from './balancers/round-robin.js';
