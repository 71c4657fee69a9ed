import { AbortedError, ClosedError, ProviderUnavailableError, TimeoutError, type DiscoveryError } from '@disco/core';

/** Why one server did not give an answer to one query. */
export interface ServerFailure {
  /** `refused`: the server answered REFUSED (an authoritative-only server asked for a name outside its zones). */
  readonly kind: 'timeout' | 'refused' | 'rcode' | 'garbage' | 'network';
  /** `127.0.0.1:53 answered SERVFAIL`, `127.0.0.1:53: UDP query ... timed out after 2000 ms`. */
  readonly text: string;
}

/** A lookup that failed on every server; `refused` when every server answered REFUSED. */
export class DnsLookupError extends ProviderUnavailableError {
  override name = 'DnsLookupError';
  readonly refused: boolean;
  constructor(message: string, refused: boolean) {
    super('dns', message);
    this.refused = refused;
  }
}

/**
 * The one classification of DNS failures (DNS has no credentials, so no `ERR_CONFIG` here):
 * - every server timed out → `ERR_TIMEOUT` (retryable);
 * - anything else (SERVFAIL, REFUSED, garbage, a network error, or a mix) → `ERR_PROVIDER_UNAVAILABLE`
 *   (retryable), naming each server and what it did. NXDOMAIN is an answer, never an error.
 */
export function lookupFailed(what: string, failures: readonly ServerFailure[], timeoutMs: number): DiscoveryError {
  const servers = failures.map((f) => f.text).join('; ');
  if (failures.length > 0 && failures.every((f) => f.kind === 'timeout')) return new TimeoutError(`dns: ${what} on every DNS server (${servers})`, timeoutMs);
  return new DnsLookupError(`${what} failed on every DNS server (${servers})`, failures.length > 0 && failures.every((f) => f.kind === 'refused'));
}

/** The provider was closed, or the caller aborted: not a failure of the DNS server. */
export function stopped(closing: AbortSignal, what: string, reason: unknown): DiscoveryError {
  return closing.aborted ? new ClosedError('dns provider') : new AbortedError(what, { cause: reason });
}

/** True when every server answered REFUSED: a definite answer about that name, not an outage. */
export function isRefusal(error: unknown): boolean {
  return error instanceof Error && (error as Partial<DnsLookupError>).refused === true;
}

/** Closing or aborting: stop, do not report the record. */
export function isStop(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ERR_CLOSED' || code === 'ERR_ABORTED';
}
