import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError } from '@disco/core';
import { KubeConfig } from '@kubernetes/client-node';
import type { ResolvedOptions } from './options.js';

const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** Credentials to scrub from any foreign error text. */
  readonly secrets: readonly string[];
  /** Where it came from, for messages (never a secret). */
  readonly source: string;
  /** The variable that names these credentials, for ERR_CONFIG on 401/403: KUBECONFIG, or K8S_IN_CLUSTER. */
  readonly credential: 'KUBECONFIG' | 'K8S_IN_CLUSTER';
}

function fromFiles(paths: string[]): KubeConfig {
  const kubeConfig = new KubeConfig();
  for (const [i, path] of paths.entries()) {
    try {
      if (i === 0) kubeConfig.loadFromFile(path);
      else {
        const more = new KubeConfig();
        more.loadFromFile(path);
        kubeConfig.mergeConfig(more, true);
      }
    } catch (error) {
      throw new ConfigError(`could not read the kubeconfig ${path}: ${(error as Error).message}`, 'KUBECONFIG');
    }
  }
  return kubeConfig;
}

/**
 * The KubeConfig to talk with: a given one, the pod's service account, or kubeconfig files
 * (KUBECONFIG may list several, merged as kubectl does). Unlike client-node's
 * loadFromDefault, it never falls back silently to http://localhost:8080.
 */
export function loadKubeConfig(options: ResolvedOptions, env: Readonly<Record<string, string | undefined>>): LoadedKubeConfig {
  let kubeConfig: KubeConfig;
  let source: string;
  let credential: LoadedKubeConfig['credential'] = 'KUBECONFIG';
  const given = options.kubeconfig;
  const inPod = env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(serviceAccountToken);
  if (given !== undefined && typeof given !== 'string') {
    kubeConfig = given;
    source = 'the given KubeConfig';
  } else if (options.inCluster === true || (options.inCluster === undefined && given === undefined && !existsSync(join(homedir(), '.kube', 'config')) && inPod)) {
    if (!inPod) {
      throw new ConfigError(
        `K8S_IN_CLUSTER is true but this process is not in a pod: KUBERNETES_SERVICE_HOST is ${env.KUBERNETES_SERVICE_HOST === undefined ? 'unset' : 'set'} and ${serviceAccountToken} ${existsSync(serviceAccountToken) ? 'exists' : 'is missing'}; set K8S_IN_CLUSTER=false and point KUBECONFIG at a kubeconfig`,
        'K8S_IN_CLUSTER',
      );
    }
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromCluster();
    source = 'the in-cluster service account';
    credential = 'K8S_IN_CLUSTER';
  } else {
    const paths = (given ?? join(homedir(), '.kube', 'config')).split(delimiter).filter((p) => p !== '');
    const missing = paths.filter((p) => !existsSync(p));
    if (paths.length === 0 || missing.length === paths.length) {
      throw new ConfigError(
        `no kubeconfig found at ${paths.join(delimiter) || '(empty path)'}: set KUBECONFIG (or the kubeconfig option), or K8S_IN_CLUSTER=true when running in a pod`,
        'KUBECONFIG',
      );
    }
    kubeConfig = fromFiles(paths.filter((p) => existsSync(p)));
    source = `kubeconfig ${paths.join(delimiter)}`;
  }
  if (options.context !== undefined) {
    const names = kubeConfig.getContexts().map((c) => c.name);
    if (!names.includes(options.context)) {
      throw new ConfigError(`context "${options.context}" is not in ${source}; it has: ${names.join(', ') || 'no contexts'}`, 'K8S_CONTEXT');
    }
    kubeConfig.setCurrentContext(options.context);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    throw new ConfigError(`${source} names no usable current context (current-context: ${JSON.stringify(kubeConfig.getCurrentContext() ?? null)}): set current-context or pass the context option`, 'K8S_CONTEXT');
  }
  const user = kubeConfig.getCurrentUser();
  const namespace = options.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
  const secrets = [user?.token, user?.password, user?.keyData].filter((s): s is string => typeof s === 'string');
  return { kubeConfig, namespace, secrets, source, credential };
}
