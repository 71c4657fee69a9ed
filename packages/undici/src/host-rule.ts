import { ConfigError } from '@disco/core';

/**
 * Which request hosts name a service:
 * - `'single-label'` (default): a host without a dot, other than `localhost` (`http://users/x`);
 * - `{ suffix }`: a single label followed by the suffix (`{ suffix: '.svc' }` routes `users.svc` to `users`);
 * - `{ hosts }`: exactly these host names, each the name of its service;
 * - a function from the host name to the service name, or undefined to pass the request on.
 *   Its answers are cached per origin, so it must give the same answer every time.
 */
export type HostRule = 'single-label' | { readonly suffix: string } | { readonly hosts: readonly string[] } | ((hostname: string) => string | undefined);

/** Where a request to a service host goes: the service, and what the caller wrote. */
export interface ServiceTarget {
  readonly service: string;
  /** The URL asked for TLS (`https://users/`). */
  readonly secure: boolean;
  /** The URL's host with its port, if any: the Host header by default. */
  readonly host: string;
  /** The URL's host name: the TLS server name by default. */
  readonly hostname: string;
  /** `{ host }`, for requests that come without headers (shared: undici only reads it). */
  readonly hostHeaders: Readonly<Record<string, string>>;
}

const maxCached = 1024;

function ruleFunction(rule: HostRule | undefined): (hostname: string) => string | undefined {
  if (rule === undefined || rule === 'single-label') {
    return (hostname) => (hostname.includes('.') || hostname.startsWith('[') || hostname === 'localhost' ? undefined : hostname);
  }
  if (typeof rule === 'function') return rule;
  if (typeof rule === 'object' && rule !== null && 'suffix' in rule && typeof rule.suffix === 'string' && rule.suffix !== '') {
    const suffix = rule.suffix.startsWith('.') ? rule.suffix.toLowerCase() : `.${rule.suffix.toLowerCase()}`;
    return (hostname) => {
      if (!hostname.endsWith(suffix)) return undefined;
      const label = hostname.slice(0, -suffix.length);
      return label === '' || label.includes('.') ? undefined : label;
    };
  }
  if (typeof rule === 'object' && rule !== null && 'hosts' in rule && Array.isArray(rule.hosts) && rule.hosts.every((h) => typeof h === 'string')) {
    const hosts = new Set(rule.hosts.map((h) => h.toLowerCase()));
    return (hostname) => (hosts.has(hostname) ? hostname : undefined);
  }
  throw new ConfigError(
    `discoveryDispatcher: option "route" must be 'single-label', { suffix: '.svc' }, { hosts: ['users', ...] } or a function from host name to service name; got ${JSON.stringify(rule)}`,
    'route',
  );
}

/** The rule as a function of a request's origin (`http://users:8080`), cached per origin: it runs on every request. */
export function compileHostRule(rule: HostRule | undefined): (origin: string) => ServiceTarget | undefined {
  const serviceOf = ruleFunction(rule);
  const cache = new Map<string, ServiceTarget | null>();
  return (origin) => {
    let target = cache.get(origin);
    if (target === undefined) {
      target = null;
      const url = URL.parse(origin);
      if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
        const service = serviceOf(url.hostname);
        if (service !== undefined) {
          target = Object.freeze({ service, secure: url.protocol === 'https:', host: url.host, hostname: url.hostname, hostHeaders: Object.freeze({ host: url.host }) });
        }
      }
      // Origins come from callers' URLs; a bounded cache cannot grow without end on many distinct hosts.
      if (cache.size >= maxCached) cache.clear();
      cache.set(origin, target);
    }
    return target ?? undefined;
  };
}
