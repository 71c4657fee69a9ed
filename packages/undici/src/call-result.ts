/** What a call came to, for the failure classifier: a response status, or the error that ended it. */
export interface CallResult {
  readonly statusCode?: number;
  readonly error?: Error;
}

/** Errors (connect failures, resets, timeouts) and 5xx statuses count against an instance. */
export function defaultIsFailure(result: CallResult): boolean {
  return result.error !== undefined || (result.statusCode !== undefined && result.statusCode >= 500);
}

/**
 * A caller's abort is no fault of the instance, unless it was a timeout (`AbortSignal.timeout()`):
 * then the instance was too slow, which is what load-aware balancers need to hear.
 */
export function isCallerTimeout(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError';
}

/** A retry the dispatcher made (`granted`), or one the retry budget refused. */
export interface RetryEvent {
  readonly service: string;
  /** The instance whose attempt failed. */
  readonly instanceId: string;
  /** What that attempt came to: a retryable status or a connect-type error. */
  readonly result: CallResult;
  /** False when the retry budget was spent: the caller gets this result. */
  readonly granted: boolean;
}
