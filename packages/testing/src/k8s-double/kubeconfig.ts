// A kubeconfig that points client-go style clients (kubectl, @kubernetes/client-node) at the
// double: its HTTPS URL, the CA that signed its certificate, and its bearer token.

export interface KubeconfigInit {
  server: string;
  /** PEM of the CA to trust for `server`. */
  ca?: string | undefined;
  token?: string | undefined;
  namespace?: string | undefined;
  /** Name for the cluster, user and context entries. Default `disco-double`. */
  name?: string | undefined;
}

/** The kubeconfig as YAML (JSON is valid YAML, so no YAML library is needed). */
export function kubeconfigYaml(init: KubeconfigInit): string {
  const name = init.name ?? 'disco-double';
  const cluster: Record<string, unknown> = { server: init.server };
  if (init.ca !== undefined) cluster['certificate-authority-data'] = Buffer.from(init.ca, 'utf8').toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster }],
      users: [{ name, user: init.token === undefined ? {} : { token: init.token } }],
      contexts: [{ name, context: { cluster: name, user: name, namespace: init.namespace ?? 'default' } }],
      'current-context': name,
    },
    null,
    2,
  );
}
