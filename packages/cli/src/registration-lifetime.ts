/**
 * Backends whose registrations outlive the process that made them: Consul's agent keeps a
 * service until it is deregistered. Elsewhere a registration lives as long as its process (etcd
 * binds it to the process's lease; the static provider keeps it in memory), so `disco register`
 * holds it in the foreground and `disco deregister` cannot take away another process's.
 */
const outlivesProcess = new Set(['consul']);

export function registrationsOutliveProcess(provider: string): boolean {
  return outlivesProcess.has(provider);
}

/** Why a registration on this backend cannot be managed from another process. */
export function processBoundReason(provider: string): string {
  if (provider === 'static') return 'the static provider keeps registrations inside the process that makes them; list instances in DISCOVERY_STATIC_INSTANCES or DISCOVERY_STATIC_FILE instead';
  return `${provider} registrations belong to the process that made them (etcd binds them to its lease) and end with it`;
}
