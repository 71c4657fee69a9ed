import type { ProviderContext } from '@disco/core';
import { loadKubeConfig } from './kube-config.js';
import { KubernetesProvider } from './kubernetes-provider.js';
import { resolveOptions, type KubernetesProviderContext, type KubernetesProviderOptions } from './options.js';

export { KubernetesProvider } from './kubernetes-provider.js';
export { environmentVariables, optionsFromEnv, type AddressType, type KubernetesProviderContext, type KubernetesProviderOptions, type Mode } from './options.js';

declare module '@disco/core' {
  interface ProviderOptionsMap {
    kubernetes: KubernetesProviderOptions;
  }
}

/**
 * A Kubernetes provider. Reads K8S_* and KUBECONFIG from `context.env` (default
 * `process.env`); a defined option wins over its variable, an option given as `undefined`
 * does not hide it, and an unknown option key is ERR_CONFIG naming the nearest known one.
 */
export function kubernetesProvider(options: KubernetesProviderOptions = {}, context: KubernetesProviderContext = {}): KubernetesProvider {
  const env = context.env ?? process.env;
  const resolved = resolveOptions(options, env, context.logger);
  return new KubernetesProvider(resolved, loadKubeConfig(resolved, env));
}

/** What `createDiscovery({ provider: 'kubernetes' })` (or `'k8s'`) calls. */
export function createProvider(options: unknown, context: ProviderContext): KubernetesProvider {
  return kubernetesProvider((options ?? {}) as KubernetesProviderOptions, context);
}
