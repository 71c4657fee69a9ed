import { isDiscoveryError } from '@disco/core';

/** What `disco` exits with. Scripts can branch on these; they are part of the CLI's contract. */
export const exitCodes = {
  ok: 0,
  /** Anything not covered below. */
  failure: 1,
  /** Bad flags or arguments (also a service definition given by flags that is not valid). */
  usage: 2,
  /** The backend could not be reached, or did not answer in time. */
  unreachable: 3,
  /** The service has no instances (or none that matches). */
  noInstances: 4,
  /** The configuration is wrong: a bad variable or flag, rejected credentials, a provider not installed. */
  config: 5,
  /** The backend cannot do this (DNS cannot list services or register). */
  unsupported: 6,
  /** Interrupted by SIGINT or SIGTERM before it finished (128 + SIGINT). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** The exit code for an error a command ended with. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return exitCodes.usage;
  if (!isDiscoveryError(error)) return exitCodes.failure;
  switch (error.code) {
    case 'ERR_PROVIDER_UNAVAILABLE':
    case 'ERR_TIMEOUT':
      return exitCodes.unreachable;
    case 'ERR_NO_INSTANCES':
      return exitCodes.noInstances;
    case 'ERR_CONFIG':
    case 'ERR_PROVIDER_NOT_INSTALLED':
      return exitCodes.config;
    case 'ERR_UNSUPPORTED':
      return exitCodes.unsupported;
    case 'ERR_INVALID_SERVICE':
      return exitCodes.usage;
    default:
      return exitCodes.failure;
  }
}

/** Bad flags or arguments: exit 2 with the message and a pointer to `--help`. */
export class UsageError extends Error {
  override name = 'UsageError';
}
