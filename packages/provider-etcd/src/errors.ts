import { ClosedError, ConfigError, isDiscoveryError, ProviderUnavailableError, TimeoutError, type DiscoveryError } from '@disco/core';
import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCUnauthenticatedError,
} from 'etcd3';

export interface ErrorContext {
  readonly username: string | undefined;
  readonly redact: (text: string) => string;
  /** The deadline of unary calls, for the text of a timeout. */
  readonly requestTimeoutMs: number;
}

/**
 * The one classification of etcd3 / grpc-js failures: a rejected user or password, or a
 * missing permission, is `ERR_CONFIG` naming the variable to fix (never retryable); a rejected
 * request is `ERR_CONFIG`; a deadline is `ERR_TIMEOUT`; the rest (unreachable, TLS refused,
 * stream ended) is `ERR_PROVIDER_UNAVAILABLE`. Messages pass through `redact` first, and the raw
 * error is kept as `cause` only when its text holds no secret.
 */
export function toEtcdError(error: unknown, what: string, context: ErrorContext): DiscoveryError {
  if (isDiscoveryError(error)) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const message = context.redact(raw);
  const cause = message === raw ? error : undefined;
  const user = context.username ?? '';
  if (error instanceof EtcdAuthenticationFailedError || error instanceof GRPCUnauthenticatedError || error instanceof EtcdInvalidAuthTokenError) {
    return new ConfigError(
      `etcd rejected the credentials of user "${user}" (${message}): check ETCD_USERNAME and ETCD_PASSWORD (options.username / options.password)`,
      'ETCD_PASSWORD',
      { cause, retryable: false },
    );
  }
  if (error instanceof EtcdPermissionDeniedError) {
    return new ConfigError(`etcd user "${user}" may not ${what} (${message}): grant its role read/write on the discovery prefix, or set ETCD_USERNAME to a user that has it`, 'ETCD_USERNAME', {
      cause,
      retryable: false,
    });
  }
  if (error instanceof GRPCInvalidArgumentError) return new ConfigError(`etcd refused the request ${what} (${message})`, undefined, { cause, retryable: false });
  if (error instanceof ClientClosedError) return new ClosedError('etcd provider');
  if (error instanceof GRPCDeadlineExceededError) return new TimeoutError(`etcd: ${what}`, context.requestTimeoutMs, { cause });
  return new ProviderUnavailableError('etcd', `${what} failed: ${message}`, { cause });
}
