import type { Dispatcher } from 'undici';
import { headerValue } from './request-headers.js';
import type { RetrySettings } from './options.js';

/**
 * A request may go to a second instance when its method is idempotent (or listed), when the
 * caller said so (undici's `idempotent: true`), or when it carries an `Idempotency-Key` (the
 * IETF draft's opt-in, the one a `fetch` caller can give). Upgrades (WebSocket, CONNECT) never.
 */
export function isRetriable(opts: Dispatcher.DispatchOptions, retry: RetrySettings): boolean {
  if (opts.upgrade || opts.method === 'CONNECT') return false;
  if (opts.idempotent !== undefined) return opts.idempotent;
  return retry.methods.has(opts.method) || headerValue(opts.headers, 'idempotency-key') !== undefined;
}

/** Whether an error that ended an attempt before any response is worth another instance. */
export function isRetriableError(error: Error, retry: RetrySettings): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && retry.errorCodes.has(code);
}

/** Milliseconds a `Retry-After` header asks for (delta seconds or an HTTP date); 0 when absent or unreadable. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number {
  const raw = headers['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return 0;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(0, date - now);
}
