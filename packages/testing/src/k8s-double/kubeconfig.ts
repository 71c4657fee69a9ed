// A kubeconfig that points client-go style clients (and @kubernetes/client-node) at the double.

export interface KubeconfigInit {
  server: string;
  token?: string | undefined;
  namespace?: string | undefined;
  /** Name for the cluster, user and context entries. Default `disco-double`. */
  name?: string | undefined;
}

/** The kubeconfig as YAML (JSON is valid YAML, so no YAML library is needed). */
export function kubeconfigYaml(init: KubeconfigInit): string {
  const name = init.name ?? 'disco-double';
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      // The double speaks plain HTTP on loopback; client-node refuses http:// unless TLS
      // verification is switched off explicitly.
      clusters: [{ name, cluster: { server: init.server, 'insecure-skip-tls-verify': true } }],
      users: [{ name, user: init.token === undefined ? {} : { token: init.token } }],
      contexts: [{ name, context: { cluster: name, user: name, namespace: init.namespace ?? 'default' } }],
      'current-context': name,
    },
    null,
    2,
  );
}
