import { isDiscoveryError, ProviderUnavailableError, type DiscoveryError } from '@disco/core';

/** The HTTP status of a client-node failure: ApiException has `.code`, Watch errors `.statusCode`. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof statusCode === 'number') return statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** 410 Gone: the resourceVersion or continue token is too old; drop the cache and list again. */
export const isGone = (error: unknown) => statusOf(error) === 410;

/**
 * Turns a client-node or network failure into ERR_PROVIDER_UNAVAILABLE with a message that
 * says what to do. Foreign text goes through `redact` in case it echoes a credential.
 */
export function apiError(error: unknown, what: string, redact: (text: string) => string): DiscoveryError {
  if (isDiscoveryError(error)) return error;
  const status = statusOf(error);
  const raw = error instanceof Error ? error.message : String(error);
  const detail = redact(raw.length > 300 ? `${raw.slice(0, 300)}…` : raw);
  let message: string;
  switch (status) {
    case 401:
      message = `${what}: the API server rejected the credentials (401 Unauthorized); check the token or client certificate of the kubeconfig context`;
      break;
    case 403:
      message = `${what}: forbidden (403); the account needs RBAC permission to list and watch this resource in this namespace`;
      break;
    case 404:
      message = `${what}: not found (404); the namespace may not exist, or the cluster does not serve this API (EndpointSlices need discovery.k8s.io/v1, Kubernetes 1.21+)`;
      break;
    case undefined:
      message = `${what}: ${detail}`;
      break;
    default:
      message = `${what}: the API server answered ${status}: ${detail}`;
  }
  return new ProviderUnavailableError('kubernetes', message, { cause: error });
}
