// One error root with a literal `code` per class (after undici's lib/core/errors.js), so callers
// can branch on `err.code` without importing classes, and TypeScript narrows on it.

const brand = Symbol.for('disco.DiscoveryError');

export type DiscoveryErrorCode =
  | 'ERR_INVALID_SERVICE'
  | 'ERR_INVALID_RECORD'
  | 'ERR_CONFIG'
  | 'ERR_NO_INSTANCES'
  | 'ERR_PROVIDER_UNAVAILABLE'
  | 'ERR_PROVIDER_NOT_INSTALLED'
  | 'ERR_UNSUPPORTED'
  | 'ERR_CLOSED'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED';

/** Codes of failures that may go away by themselves: trying again later can help. */
const transient: ReadonlySet<DiscoveryErrorCode> = new Set(['ERR_PROVIDER_UNAVAILABLE', 'ERR_TIMEOUT', 'ERR_NO_INSTANCES']);

export interface DiscoveryErrorOptions {
  cause?: unknown;
  /** Overrides the code's default (e.g. a 429 is unavailable and retryable, a 400 is not). */
  retryable?: boolean;
}

/**
 * The root of every error disco raises. Branch on `code` (a literal per class). `retryable`
 * says whether the same call may succeed later without a change on your side. Authentication
 * and permission failures are `ERR_CONFIG` in every provider (not retryable: fix the
 * credentials named in the message). `instanceof` works across two installed copies of
 * `@disco/core`: it checks a `Symbol.for` brand and the code, not the prototype chain.
 */
export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
  readonly code: DiscoveryErrorCode;
  readonly retryable: boolean;
  readonly [brand] = true;
  /** The code of a subclass (undefined on the root). */
  static readonly code: DiscoveryErrorCode | undefined = undefined;

  constructor(code: DiscoveryErrorCode, message: string, options?: DiscoveryErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? transient.has(code);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!isDiscoveryError(value)) return false;
    const code = (this as { code?: DiscoveryErrorCode }).code;
    if (code === undefined) return this === DiscoveryError || Function.prototype[Symbol.hasInstance].call(this, value);
    return value.code === code;
  }
}

/** True for any disco error, even one thrown by another copy of this package. */
export function isDiscoveryError<C extends DiscoveryErrorCode>(
  value: unknown,
  code?: C,
): value is DiscoveryError & { code: C } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    (code === undefined || (value as DiscoveryError).code === code)
  );
}

/** A service definition failed validation; `problems` lists every one of them. */
export class InvalidServiceError extends DiscoveryError {
  override name = 'InvalidServiceError';
  declare readonly code: 'ERR_INVALID_SERVICE';
  static override readonly code = 'ERR_INVALID_SERVICE' as const;
  readonly problems: readonly string[];
  constructor(problems: readonly string[], subject = 'service') {
    super('ERR_INVALID_SERVICE', `invalid ${subject}: ${problems.join('; ')}`);
    this.problems = Object.freeze([...problems]);
  }
}

/** A record read from a registry could not be understood; it was skipped. */
export class InvalidRecordError extends DiscoveryError {
  override name = 'InvalidRecordError';
  declare readonly code: 'ERR_INVALID_RECORD';
  static override readonly code = 'ERR_INVALID_RECORD' as const;
  /** Where the record lives (an etcd key, a file path, a Consul service id). */
  readonly key: string;
  constructor(key: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_RECORD', `skipped invalid record ${key}: ${reason}`, options);
    this.key = key;
  }
}

/** A configuration value is wrong. Secret values are never repeated in the message. */
export class ConfigError extends DiscoveryError {
  override name = 'ConfigError';
  declare readonly code: 'ERR_CONFIG';
  static override readonly code = 'ERR_CONFIG' as const;
  readonly variable: string | undefined;
  constructor(message: string, variable?: string, options?: DiscoveryErrorOptions) {
    super('ERR_CONFIG', message, options);
    this.variable = variable;
  }
}

export class NoInstancesError extends DiscoveryError {
  override name = 'NoInstancesError';
  declare readonly code: 'ERR_NO_INSTANCES';
  static override readonly code = 'ERR_NO_INSTANCES' as const;
  readonly service: string;
  constructor(service: string, detail = 'no healthy instance is registered') {
    super('ERR_NO_INSTANCES', `no instances of "${service}": ${detail}`);
    this.service = service;
  }
}

export class ProviderUnavailableError extends DiscoveryError {
  override name = 'ProviderUnavailableError';
  declare readonly code: 'ERR_PROVIDER_UNAVAILABLE';
  static override readonly code = 'ERR_PROVIDER_UNAVAILABLE' as const;
  readonly provider: string;
  constructor(provider: string, message: string, options?: DiscoveryErrorOptions) {
    super('ERR_PROVIDER_UNAVAILABLE', `${provider}: ${message}`, options);
    this.provider = provider;
  }
}

export class ProviderNotInstalledError extends DiscoveryError {
  override name = 'ProviderNotInstalledError';
  declare readonly code: 'ERR_PROVIDER_NOT_INSTALLED';
  static override readonly code = 'ERR_PROVIDER_NOT_INSTALLED' as const;
  readonly packageName: string;
  constructor(what: string, packageName: string, peers: readonly string[] = [], options?: { cause?: unknown }) {
    const add = [packageName, ...peers].join(' ');
    super('ERR_PROVIDER_NOT_INSTALLED', `${what} needs the package ${packageName}, which is not installed: run \`pnpm add ${add}\` (or npm install ${add})`, options);
    this.packageName = packageName;
  }
}

export class UnsupportedError extends DiscoveryError {
  override name = 'UnsupportedError';
  declare readonly code: 'ERR_UNSUPPORTED';
  static override readonly code = 'ERR_UNSUPPORTED' as const;
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message);
  }
}

export class ClosedError extends DiscoveryError {
  override name = 'ClosedError';
  declare readonly code: 'ERR_CLOSED';
  static override readonly code = 'ERR_CLOSED' as const;
  constructor(what = 'discovery') {
    super('ERR_CLOSED', `${what} is closed: create a new one to go on`);
  }
}

export class TimeoutError extends DiscoveryError {
  override name = 'TimeoutError';
  declare readonly code: 'ERR_TIMEOUT';
  static override readonly code = 'ERR_TIMEOUT' as const;
  constructor(what: string, ms: number, options?: { cause?: unknown }) {
    super('ERR_TIMEOUT', `${what} did not finish within ${ms} ms`, options);
  }
}

export class AbortedError extends DiscoveryError {
  override name = 'AbortedError';
  declare readonly code: 'ERR_ABORTED';
  static override readonly code = 'ERR_ABORTED' as const;
  constructor(what = 'operation', options?: { cause?: unknown }) {
    super('ERR_ABORTED', `${what} was aborted`, options);
  }
}
