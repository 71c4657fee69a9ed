import { ClosedError, ConfigError, isDiscoveryError, ProviderUnavailableError, type DiscoveryError } from '@disco/core';
import { ClientClosedError, EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCUnauthenticatedError } from 'etcd3';

/**
 * Turns an etcd3 / grpc-js failure into a disco error. Messages pass through `redact`, and the
 * raw error is kept as `cause` only when its text holds no secret.
 */
export function toEtcdError(error: unknown, what: string, context: { username: string | undefined; redact: (text: string) => string }): DiscoveryError {
  if (isDiscoveryError(error)) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const message = context.redact(raw);
  const cause = message === raw ? { cause: error } : undefined;
  if (error instanceof EtcdAuthenticationFailedError || error instanceof GRPCUnauthenticatedError) {
    return new ConfigError(
      `etcd rejected the credentials of user "${context.username ?? ''}" (${message}): check ETCD_USERNAME and ETCD_PASSWORD (options.username / options.password)`,
      'ETCD_PASSWORD',
    );
  }
  if (error instanceof EtcdPermissionDeniedError) {
    return new ConfigError(`etcd user "${context.username ?? ''}" may not ${what} (${message}): grant its role read/write on the discovery prefix`, 'ETCD_USERNAME');
  }
  if (error instanceof ClientClosedError) return new ClosedError('etcd provider');
  return new ProviderUnavailableError('etcd', `${what} failed: ${message}`, cause);
}
