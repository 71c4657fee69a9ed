import type { ProviderContext } from '@disco/core';
import { loadKubeConfig } from './kube-config.js';
import { KubernetesProvider } from './kubernetes-provider.js';
import { resolveOptions, type KubernetesProviderOptions } from './options.js';

export { KubernetesProvider } from './kubernetes-provider.js';
export { optionsFromEnv, type AddressType, type KubernetesProviderOptions, type Mode } from './options.js';

/**
 * A Kubernetes provider. Options by object win over the environment (K8S_NAMESPACE,
 * K8S_LABEL_SELECTOR, K8S_IN_CLUSTER, KUBECONFIG, K8S_CONTEXT, K8S_PORT).
 */
export function kubernetesProvider(options: KubernetesProviderOptions = {}, env: Readonly<Record<string, string | undefined>> = process.env): KubernetesProvider {
  const resolved = resolveOptions(options, env);
  return new KubernetesProvider(resolved, loadKubeConfig(resolved, env));
}

/** What `createDiscovery({ provider: 'kubernetes' })` (or `'k8s'`) calls. */
export function createProvider(options: unknown, context: ProviderContext): KubernetesProvider {
  const given = (options ?? {}) as KubernetesProviderOptions;
  return kubernetesProvider({ logger: context.logger, ...given }, context.env);
}
