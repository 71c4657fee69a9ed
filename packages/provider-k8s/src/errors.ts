import { ConfigError, isDiscoveryError, ProviderUnavailableError, TimeoutError, type DiscoveryError } from '@disco/core';

/** The HTTP status of a failure: an ApiException or our own list error has `.code`, a client-node Watch error `.statusCode`. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if (error instanceof DOMException) return undefined; // its numeric `code` is not an HTTP status
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  const status = typeof statusCode === 'number' ? statusCode : code;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : undefined;
}

/** 410 Gone: the resourceVersion or continue token is too old; drop the cache and list again. */
export const isGone = (error: unknown): boolean => statusOf(error) === 410;

/** A failed API request: the HTTP status and the server's message (a Status object's `message`). */
export class KubeRequestError extends Error {
  override name = 'KubeRequestError';
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const maxDetail = 300;

/**
 * The one classification of Kubernetes API failures into disco's error model:
 * - 401 / 403: `ERR_CONFIG` naming the credential's variable (KUBECONFIG, or K8S_IN_CLUSTER for
 *   the service account): the same in every provider, and retrying does not help;
 * - 400 (and 404: the cluster does not serve the resource): `ERR_CONFIG`;
 * - a timeout: `ERR_TIMEOUT`;
 * - anything else (5xx, 429, refused, reset): `ERR_PROVIDER_UNAVAILABLE`, retryable.
 * Foreign text goes through `redact` before it is cut short, so no piece of a credential survives.
 */
export interface ErrorContext {
  /** Scrubs credentials from foreign text. */
  readonly redact: (text: string) => string;
  /** The variable that names the credentials in use (KUBECONFIG, or K8S_IN_CLUSTER). */
  readonly credential: string;
  /** The client-side deadline a TimeoutError ran into. */
  readonly timeoutMs?: number | undefined;
}

export function apiError(error: unknown, what: string, context: ErrorContext): DiscoveryError {
  const { redact, credential } = context;
  if (isDiscoveryError(error)) return error;
  const status = statusOf(error);
  if ((error as { name?: unknown } | null)?.name === 'TimeoutError') return new TimeoutError(what, context.timeoutMs ?? 0, { cause: error });
  const raw = error instanceof Error ? error.message : String(error);
  const redacted = redact(raw);
  const detail = redacted.length > maxDetail ? `${redacted.slice(0, maxDetail)}…` : redacted;
  switch (status) {
    case 400:
      return new ConfigError(`${what}: the API server rejected the request (400 Bad Request): ${detail}`, undefined, { cause: error });
    case 401:
      return new ConfigError(`${what}: the API server rejected the credentials (401 Unauthorized); check the token or client certificate of ${credential}`, credential, { cause: error });
    case 403:
      return new ConfigError(`${what}: forbidden (403); the account of ${credential} needs RBAC permission to list and watch this resource in this namespace`, credential, { cause: error });
    case 404:
      return new ConfigError(`${what}: not found (404); the cluster does not serve this API (EndpointSlices need discovery.k8s.io/v1, Kubernetes 1.21+)`, undefined, { cause: error });
    case undefined:
      return new ProviderUnavailableError('kubernetes', `${what}: ${detail}`, { cause: error });
    default:
      return new ProviderUnavailableError('kubernetes', `${what}: the API server answered ${status}: ${detail}`, { cause: error });
  }
}
