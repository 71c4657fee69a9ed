/**
 * What `disco doctor` needs to know about each backend: the variable that says where it is, the
 * credentials and CA variables, and the prefix of its own variables. The providers read these
 * variables themselves; this only names them in the advice.
 */
export interface BackendFacts {
  /** The variable naming where the backend is. */
  readonly address: string;
  readonly defaultAddress?: string;
  readonly credentials: readonly string[];
  /** The variable with the CA that signs the backend's certificate. */
  readonly ca?: string;
  /** Variables of this backend start with this. */
  readonly prefix: string;
}

export const backendFacts: Readonly<Record<string, BackendFacts>> = {
  static: { address: 'DISCOVERY_STATIC_INSTANCES', credentials: [], prefix: 'DISCOVERY_STATIC_' },
  etcd: { address: 'ETCD_ENDPOINTS', defaultAddress: 'localhost:2379', credentials: ['ETCD_USERNAME', 'ETCD_PASSWORD'], ca: 'ETCD_CACERT', prefix: 'ETCD_' },
  consul: { address: 'CONSUL_HTTP_ADDR', defaultAddress: 'localhost:8500', credentials: ['CONSUL_HTTP_TOKEN'], ca: 'CONSUL_CACERT', prefix: 'CONSUL_' },
  kubernetes: { address: 'KUBECONFIG', defaultAddress: '~/.kube/config', credentials: ['KUBECONFIG'], prefix: 'K8S_' },
  k8s: { address: 'KUBECONFIG', defaultAddress: '~/.kube/config', credentials: ['KUBECONFIG'], prefix: 'K8S_' },
  dns: { address: 'DNS_SERVER', defaultAddress: 'the system resolver', credentials: [], prefix: 'DNS_' },
};

/** Variable names whose values are never printed. */
export const isSecretVariable = (name: string): boolean => /TOKEN|PASSWORD|SECRET|_KEY$|CLIENT_KEY/.test(name);

/**
 * The `https://host:port` endpoints the backend is reached at, for the TLS check (etcd: any
 * https:// entry of ETCD_ENDPOINTS; Consul: CONSUL_HTTP_ADDR with https://, or CONSUL_HTTP_SSL=true).
 */
export function tlsEndpoints(provider: string, env: Readonly<Record<string, string | undefined>>): URL[] {
  const urls: URL[] = [];
  const add = (text: string) => {
    try {
      urls.push(new URL(text));
    } catch {
      // not a URL: the provider reports a bad address itself
    }
  };
  if (provider === 'etcd') {
    for (const entry of (env.ETCD_ENDPOINTS ?? '').split(',').map((e) => e.trim())) if (entry.startsWith('https://')) add(entry);
  } else if (provider === 'consul') {
    const address = env.CONSUL_HTTP_ADDR?.trim() ?? '';
    if (address.startsWith('https://')) add(address);
    else if (/^(1|true|yes|on)$/i.test(env.CONSUL_HTTP_SSL ?? '') && address !== '') add(`https://${address.replace(/^http:\/\//, '')}`);
  }
  return urls;
}
