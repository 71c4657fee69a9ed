import { ConfigError, InvalidServiceError, ProviderUnavailableError, isDiscoveryError, type DiscoveryError } from '@disco/core';

/** How much of a Consul answer an error message quotes. */
export const excerptLength = 300;

/**
 * What Consul said, for an error message: secrets are redacted from the whole text FIRST and only
 * then is it cut, so a token straddling the cut cannot leave its first characters behind.
 */
export function excerpt(body: string, redact: (text: string) => string): string {
  const text = redact(body.trim());
  return text.length > excerptLength ? `${text.slice(0, excerptLength)}…` : text;
}

/**
 * The one classification of a Consul answer that is not a success:
 * - 401/403: the ACL token is missing, unknown or lacks a permission → `ERR_CONFIG` naming CONSUL_HTTP_TOKEN;
 * - 400: Consul refused the request as malformed → `ERR_CONFIG` (a registration: `ERR_INVALID_SERVICE`);
 * - 429 and 5xx: the agent is overloaded or has no leader → `ERR_PROVIDER_UNAVAILABLE`, retryable;
 * - anything else: `ERR_PROVIDER_UNAVAILABLE`, not retryable.
 * `need` names the ACL permission the request needed ("service:read on \"web\"").
 */
export function statusError(status: number, said: string, what: string, need = 'the permission it needs'): DiscoveryError {
  const quoted = said || '(no body)';
  if (status === 401 || status === 403) {
    return new ConfigError(
      `consul: ${what}: Consul refused it (${status} ${quoted}): the ACL token is missing, unknown or lacks ${need}; set CONSUL_HTTP_TOKEN (or the token option) to a token that has it`,
      'CONSUL_HTTP_TOKEN',
    );
  }
  if (status === 400) {
    if (what.startsWith('register')) return new InvalidServiceError([`Consul rejected the registration: ${quoted}`]);
    return new ConfigError(`consul: ${what}: Consul refused the request as malformed (400 ${quoted}); check the options it comes from (datacenter, namespace, consistency, wait)`, 'consul');
  }
  const retryable = status === 429 || status >= 500;
  const error = new ProviderUnavailableError('consul', `${what}: Consul answered ${status}: ${quoted}`, { retryable });
  if (status === 429) refusals.add(error);
  return error;
}

const refusals = new WeakSet<DiscoveryError>();

/**
 * Whether the agent refused the request with 429 (`limits.http_max_conns_per_client`, or its
 * rate limits): a blocking query that meets one backs off and tries again inside its follow,
 * reporting the outage once, instead of ending the follow (which would re-list, "recover", and
 * report the next 429 as a new outage).
 */
export const isRefusal = (error: unknown): boolean => refusals.has(error as DiscoveryError);

/** Whether another try of a one-shot request may succeed (p-retry's `shouldRetry`). */
export const isRetryable = (error: unknown): boolean => isDiscoveryError(error) && error.retryable;
