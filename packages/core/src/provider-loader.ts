import { ConfigError, ProviderNotInstalledError } from './errors.js';
import { importInstalled, namesMissingPackage } from './import-installed.js';
import type { Provider, ProviderContext, ProviderModule } from './provider.js';
import { staticProvider, type StaticProviderOptions } from './static/static-provider.js';

/** Provider names accepted by `createDiscovery({ provider })` and DISCOVERY_PROVIDER. */
export const providerNames = ['static', 'etcd', 'consul', 'kubernetes', 'k8s', 'dns'] as const;
export type ProviderName = (typeof providerNames)[number];

type OptionsKey = 'etcd' | 'consul' | 'kubernetes' | 'dns';

/** Where each provider lives: its package, the peer it needs, and its key in the config. */
const packages: Record<Exclude<ProviderName, 'static'>, { pkg: string; peers: string[]; key: OptionsKey }> = {
  etcd: { pkg: '@disco/provider-etcd', peers: ['etcd3'], key: 'etcd' },
  consul: { pkg: '@disco/provider-consul', peers: [], key: 'consul' },
  kubernetes: { pkg: '@disco/provider-k8s', peers: ['@kubernetes/client-node'], key: 'kubernetes' },
  k8s: { pkg: '@disco/provider-k8s', peers: ['@kubernetes/client-node'], key: 'kubernetes' },
  dns: { pkg: '@disco/provider-dns', peers: [], key: 'dns' },
};

type ProviderSections = {
  static?: StaticProviderOptions;
  /** Provider modules handed over by the application, by name: what a bundle uses instead of loading by name. */
  providers?: Readonly<Record<string, ProviderModule>>;
} & Partial<Record<OptionsKey, object>>;

const registered = new Map<string, ProviderModule>();

/**
 * Makes `provider: name` (and DISCOVERY_PROVIDER=name) use this module instead of importing its
 * package, process-wide: `registerProvider('etcd', await import('@disco/provider-etcd'))`.
 * A bundled application registers what it bundled, so no package is looked up at run time.
 */
export function registerProvider(name: string, module: ProviderModule): void {
  assertProviderModule(module, `registerProvider("${name}", module)`);
  registered.set(name, module);
}

/**
 * Loads a provider by name: one handed over in `config.providers`, else one registered with
 * {@link registerProvider}, else its package imported from where the application installed it
 * (core depends on none of them, so an app pulls in only the client it uses).
 */
export async function loadProvider(name: string, config: ProviderSections, context: ProviderContext): Promise<Provider> {
  const entry = Object.hasOwn(packages, name) ? packages[name as keyof typeof packages] : undefined;
  const options = entry ? config[entry.key] : undefined;
  const handed = config.providers !== undefined && Object.hasOwn(config.providers, name) ? config.providers[name] : undefined;
  if (handed !== undefined) return assertProviderModule(handed, `providers.${name}`).createProvider(options ?? {}, context);
  const module = registered.get(name);
  if (module) return module.createProvider(options ?? {}, context);
  if (name === 'static') return staticProvider(config.static);
  if (!entry) throw new ConfigError(`unknown provider "${name}"; use one of: ${providerNames.join(', ')}`, 'provider');
  let imported: Partial<ProviderModule>;
  try {
    imported = (await importInstalled(entry.pkg)) as Partial<ProviderModule>;
  } catch (error) {
    const missing = [entry.pkg, ...entry.peers].find((p) => namesMissingPackage(error, p));
    if (missing === entry.pkg) throw new ProviderNotInstalledError(`provider "${name}"`, entry.pkg, entry.peers, { cause: error });
    if (missing) throw new ProviderNotInstalledError(`provider "${name}" (${entry.pkg})`, missing, [], { cause: error });
    throw error;
  }
  return assertProviderModule(imported, entry.pkg).createProvider(options ?? {}, context);
}

function assertProviderModule(module: unknown, what: string): ProviderModule {
  if (typeof (module as Partial<ProviderModule> | null)?.createProvider !== 'function') {
    throw new ConfigError(`${what} does not export createProvider(); is it a disco provider package (\`import * as etcd from '@disco/provider-etcd'\`)?`, 'provider');
  }
  return module as ProviderModule;
}
