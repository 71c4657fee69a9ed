import { isValidPort } from '@disco/core';

export interface NamedPort {
  readonly name?: string | undefined;
  readonly port?: number | undefined;
}

const describe = (ports: readonly NamedPort[]) => ports.map((p) => (p.name ? `${p.name}:${p.port}` : String(p.port))).join(', ');

/**
 * The port to offer from a list of declared ports: by name, by number, or the only one.
 * Returns the port, or a sentence saying why none fits. `undeclared` accepts a wanted number
 * that is not listed (containers need not declare the ports they listen on).
 */
export function selectPort(ports: readonly NamedPort[], wanted: string | number | undefined, undeclared: boolean): number | string {
  if (typeof wanted === 'number') {
    if (ports.some((p) => p.port === wanted) || undeclared || ports.length === 0) return wanted;
    return `has no port ${wanted} (ports: ${describe(ports)})`;
  }
  if (typeof wanted === 'string') {
    const found = ports.find((p) => p.name === wanted);
    if (!found) return `has no port named "${wanted}" (ports: ${describe(ports) || 'none'})`;
    return isValidPort(found.port) ? found.port : `port "${wanted}" is not a valid port number (${JSON.stringify(found.port)})`;
  }
  if (ports.length === 1) {
    const only = ports[0]!.port;
    return isValidPort(only) ? only : `its port is not a valid port number (${JSON.stringify(only)})`;
  }
  return ports.length === 0
    ? 'declares no port: set the port option (K8S_PORT) to a number'
    : `has several ports (${describe(ports)}): set the port option (K8S_PORT) to a name or number`;
}
