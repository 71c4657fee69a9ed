export { createProvider, etcdProvider, EtcdProvider } from './etcd-provider.js';
export { optionsFromEnv, type EtcdLayout, type EtcdProviderOptions, type EtcdTlsOptions, type PemSource } from './options.js';
export { RECORD_VERSION } from './record.js';
