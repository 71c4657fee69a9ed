import type { IncomingMessage } from 'node:http';

/** What a token may do: `write` (and read), `read`, or `none` (a token without policies). */
export type AclRule = 'read' | 'write' | 'none';

/** `filtered`: a read by a known token without rights, answered 200 with the results filtered away and flagged. */
export type AclDecision = { allowed: true } | { allowed: false; anonymous: boolean; filtered?: boolean; status: 403; message: string };

/**
 * Consul ACLs with a default-deny policy: a known token grants what its rule says; an unknown
 * token is refused outright (403 "ACL not found"); no token is the anonymous token, which may
 * not write (403 "Permission denied") and reads nothing: results are filtered away with a 200,
 * as Consul does (without `X-Consul-Results-Filtered-By-ACLs`, which Consul only sets for
 * authenticated tokens).
 */
export class Acl {
  readonly #tokens: ReadonlyMap<string, AclRule> | undefined;

  constructor(tokens?: Record<string, AclRule>) {
    this.#tokens = tokens ? new Map(Object.entries(tokens)) : undefined;
  }

  get enabled(): boolean {
    return this.#tokens !== undefined;
  }

  authorize(req: IncomingMessage, url: URL, need: AclRule): AclDecision {
    if (!this.#tokens) return { allowed: true };
    const token = tokenOf(req, url);
    if (token === undefined) return { allowed: false, anonymous: true, status: 403, message: 'Permission denied' };
    const rule = this.#tokens.get(token);
    if (rule === undefined) return { allowed: false, anonymous: false, status: 403, message: 'ACL not found' };
    if (rule === 'none' && need === 'read') return { allowed: false, anonymous: false, filtered: true, status: 403, message: 'Permission denied' };
    if (need === 'write' && rule !== 'write') return { allowed: false, anonymous: false, status: 403, message: 'Permission denied' };
    return { allowed: true };
  }
}

/** The request's token: `X-Consul-Token`, `Authorization: Bearer`, or (discouraged) `?token=`. */
export function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  return url.searchParams.get('token') ?? undefined;
}
