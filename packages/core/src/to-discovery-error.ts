import { isDiscoveryError, ProviderUnavailableError, type DiscoveryError } from './errors.js';

/** Keeps a DiscoveryError as it is; wraps anything else as ERR_PROVIDER_UNAVAILABLE. */
export function toDiscoveryError(error: unknown, providerName: string, redact: (text: string) => string = (t) => t): DiscoveryError {
  if (isDiscoveryError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderUnavailableError(providerName, redact(message), { cause: error });
}
