export { discoveryDispatcher, DiscoveryDispatcher } from './discovery-dispatcher.js';
export { discoveryInterceptor, type DiscoveryInterceptor } from './discovery-interceptor.js';
export type { DiscoveryDispatcherOptions, RetryBudgetOptions, RetryOptions, ServiceCallOptions } from './options.js';
export type { HostRule } from './host-rule.js';
export type { CallResult, RetryEvent } from './call-result.js';
