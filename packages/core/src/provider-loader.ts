import { ConfigError, ProviderNotInstalledError } from './errors.js';
import type { Provider, ProviderContext, ProviderModule } from './provider.js';
import { staticProvider, type StaticProviderOptions } from './static/static-provider.js';

/** Provider names accepted by `createDiscovery({ provider })` and DISCOVERY_PROVIDER. */
export const providerNames = ['static', 'etcd', 'consul', 'kubernetes', 'k8s', 'dns'] as const;
export type ProviderName = (typeof providerNames)[number];

/** Where each provider lives: its package, the peer it needs, and its key in the config. */
const packages: Record<Exclude<ProviderName, 'static'>, { pkg: string; peers: string[]; key: 'etcd' | 'consul' | 'kubernetes' | 'dns' }> = {
  etcd: { pkg: '@disco/provider-etcd', peers: ['etcd3'], key: 'etcd' },
  consul: { pkg: '@disco/provider-consul', peers: [], key: 'consul' },
  kubernetes: { pkg: '@disco/provider-k8s', peers: ['@kubernetes/client-node'], key: 'kubernetes' },
  k8s: { pkg: '@disco/provider-k8s', peers: ['@kubernetes/client-node'], key: 'kubernetes' },
  dns: { pkg: '@disco/provider-dns', peers: [], key: 'dns' },
};

type ProviderSections = { static?: StaticProviderOptions } & Partial<Record<'etcd' | 'consul' | 'kubernetes' | 'dns', Record<string, unknown>>>;

/**
 * Loads a provider by name. Backends live in their own packages (optional peers of core),
 * imported only when named, so an app pulls in only the client it uses.
 */
export async function loadProvider(name: string, config: ProviderSections, context: ProviderContext): Promise<Provider> {
  if (name === 'static') return staticProvider(config.static);
  const entry = (packages as Record<string, (typeof packages)[keyof typeof packages] | undefined>)[name];
  if (!entry) throw new ConfigError(`unknown provider "${name}"; use one of: ${providerNames.join(', ')}`, 'provider');
  let module: Partial<ProviderModule>;
  try {
    module = (await import(/* @vite-ignore */ entry.pkg)) as Partial<ProviderModule>;
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' ? [entry.pkg, ...entry.peers].find((p) => String((error as Error).message).includes(`'${p}'`)) : undefined;
    if (missing === entry.pkg) throw new ProviderNotInstalledError(`provider "${name}"`, entry.pkg, entry.peers, { cause: error });
    if (missing) throw new ProviderNotInstalledError(`provider "${name}" (${entry.pkg})`, missing, [], { cause: error });
    throw error;
  }
  if (typeof module.createProvider !== 'function') throw new ConfigError(`${entry.pkg} does not export createProvider(); is it a disco provider package?`, 'provider');
  return module.createProvider(config[entry.key] ?? {}, context);
}
