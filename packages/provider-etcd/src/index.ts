import type { EtcdProviderOptions } from './options.js';

export { createProvider, etcdProvider, EtcdProvider } from './etcd-provider.js';
export { optionsFromEnv, optionVariables, type EtcdLayout, type EtcdPrefixMode, type EtcdProviderContext, type EtcdProviderOptions, type EtcdTlsOptions, type PemSource } from './options.js';
export { RECORD_VERSION } from './record.js';

// `createDiscovery({ provider: 'etcd', etcd: { ... } })` type-checks these options once this package is imported.
declare module '@disco/core' {
  interface ProviderOptionsMap {
    etcd: EtcdProviderOptions;
  }
}
