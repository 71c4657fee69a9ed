import type { IncomingMessage } from 'node:http';

/** What a token may do: `write` (and read), `read`, or `none` (a token without policies). */
export type AclRule = 'read' | 'write' | 'none';

/** What a request needs, as Consul names it in a 403: `service:write` on "web". */
export interface Permission {
  readonly resource: 'service' | 'node' | 'agent';
  readonly access: 'read' | 'write';
  /** The resource's name ("web", the node's name); empty when the request names none. */
  readonly name: string;
}

/**
 * `filtered`: a read answered 200 with what the token may not see left out; `flagged` when
 * Consul says so (`X-Consul-Results-Filtered-By-ACLs`, only for an authenticated token).
 */
export type AclDecision = { allowed: true } | { allowed: false; filtered: boolean; flagged: boolean; status: 403; message: string };

/** The anonymous token's AccessorID in Consul. */
export const anonymousAccessor = '00000000-0000-0000-0000-000000000002';

/**
 * Consul ACLs: a known token grants what its rule says; an unknown token is refused outright
 * (403 "ACL not found"); no token is the anonymous token. With the default policy `deny` the
 * anonymous token may not write (403 naming the permission) and reads come back filtered to
 * nothing with a 200 (unflagged, so as not to leak that something exists); with `allow` it may
 * do everything. A 403 names the permission as Consul does: `Permission denied: token with
 * AccessorID '…' lacks permission 'service:write' on "web"` — the AccessorID, never the secret.
 */
export class Acl {
  readonly #tokens: ReadonlyMap<string, { rule: AclRule; accessor: string }> | undefined;
  readonly defaultPolicy: 'allow' | 'deny';

  constructor(tokens?: Record<string, AclRule>, defaultPolicy: 'allow' | 'deny' = 'deny') {
    this.#tokens = tokens
      ? new Map(Object.entries(tokens).map(([secret, rule], i) => [secret, { rule, accessor: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}` }]))
      : undefined;
    this.defaultPolicy = tokens ? defaultPolicy : 'allow';
  }

  get enabled(): boolean {
    return this.#tokens !== undefined;
  }

  authorize(req: IncomingMessage, url: URL, need: Permission): AclDecision {
    if (!this.#tokens) return { allowed: true };
    const token = tokenOf(req, url);
    let rule: AclRule;
    let accessor = anonymousAccessor;
    if (token === undefined) {
      if (this.defaultPolicy === 'allow') return { allowed: true };
      rule = 'none';
    } else {
      const known = this.#tokens.get(token);
      if (known === undefined) return { allowed: false, filtered: false, flagged: false, status: 403, message: 'ACL not found' };
      ({ rule, accessor } = known);
    }
    if (rule === 'write' || (rule === 'read' && need.access === 'read')) return { allowed: true };
    const on = need.name === '' ? '' : ` on ${JSON.stringify(need.name)}`;
    const message = `Permission denied: token with AccessorID '${accessor}' lacks permission '${need.resource}:${need.access}'${on}`;
    if (need.access === 'read') return { allowed: false, filtered: true, flagged: token !== undefined, status: 403, message };
    return { allowed: false, filtered: false, flagged: false, status: 403, message };
  }
}

/** The request's token: `X-Consul-Token`, `Authorization: Bearer`, or (discouraged) `?token=`, in Consul's order. */
export function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const query = url.searchParams.get('token');
  if (query) return query;
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim().split(' ')[0] || undefined;
  return undefined;
}
