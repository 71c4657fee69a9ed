import type { Lease } from '@disco/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { defaultIsFailure, isCallerTimeout, type CallResult, type RetryEvent } from './call-result.js';
import type { RetrySettings } from './options.js';
import { prepareBody } from './request-body.js';
import { withHost } from './request-headers.js';
import { isRetriable, isRetriableError, retryAfterMs } from './retry-policy.js';
import type { ServiceTarget } from './host-rule.js';
import type { ServiceRoute } from './service-route.js';

type Controller = Dispatcher.DispatchController;
/** The context the caller's onRequestStart gets: nothing of ours to share, and no allocation per request. */
const noContext = Object.freeze({});
/** Outcomes handed to `lease.release()`, shared rather than made per call. */
const succeeded = Object.freeze({ ok: true });
const failedCall = Object.freeze({ ok: false });
type Handler = Dispatcher.DispatchHandler;

/** How the router wants requests sent; the same for every request. */
export interface SendSettings {
  readonly isFailure: (result: CallResult) => boolean;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly hostHeader: 'service' | 'instance';
  readonly tlsMetadataKey: string;
}

/** A retryable response kept back while another instance is tried; handed over if none can be. */
interface HeldResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly statusMessage: string | undefined;
  readonly rawHeaders: Controller['rawHeaders'];
  readonly chunks: Buffer[];
  size: number;
  trailers?: IncomingHttpHeaders;
  rawTrailers?: Controller['rawTrailers'];
}

/**
 * One request to a service, over as many attempts as it takes: each attempt acquires an
 * instance from the service's handle, goes out on that instance's pool, and releases the lease
 * with its outcome. A retry goes to an instance not tried yet, within the retry budget.
 *
 * The object plays two parts. To the caller it is the request's one stable controller (undici's
 * RetryHandler keeps one for the same reason): abort, pause and resume reach whichever attempt is
 * current, and an abort while no attempt is out (waiting for the first snapshot or a Retry-After)
 * ends the request at once. To each attempt's pool it is the handler; only one attempt is out at
 * a time, and the next starts only after the previous one's last callback.
 */
export class RoutedRequest implements Controller, Handler {
  readonly #handler: Handler;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #route: ServiceRoute;
  readonly #target: ServiceTarget;
  readonly #settings: SendSettings;
  readonly #retry: RetrySettings | undefined;
  #send: Dispatcher.DispatchOptions | undefined;
  #retriable = false;
  readonly #tried: string[] = [];
  #lease: Lease | undefined;
  /** The current (or last) attempt's instance. */
  #instanceId = '';
  #controller: Controller | null = null;
  #failed = false;
  #holding = false;
  #held: HeldResponse | undefined;
  #lastError: Error | undefined;
  /** What the held response's Retry-After asked for. */
  #retryDelay = 0;
  #timer: NodeJS.Timeout | undefined;
  #aborted = false;
  #reason: Error | null = null;
  #paused = false;
  #streaming = false;
  #done = false;

  constructor(route: ServiceRoute, target: ServiceTarget, opts: Dispatcher.DispatchOptions, handler: Handler, settings: SendSettings) {
    this.#route = route;
    this.#target = target;
    this.#opts = opts;
    this.#handler = handler;
    this.#settings = settings;
    this.#retry = route.settings.retry;
  }

  /** Starts the request: synchronously when the service is ready and the body needs no reading ahead. */
  start(): void {
    this.#handler.onRequestStart?.(this, noContext);
    if (this.#done) return;
    this.#route.budget?.deposit();
    const retry = this.#retry;
    const body = this.#opts.body;
    const pending = this.#route.pending;
    if (!retry || !isRetriable(this.#opts, retry)) {
      if (pending === undefined) return this.#begin(body, false);
      pending.then(() => this.#begin(body, false), (error: unknown) => this.#fail(error as Error));
      return;
    }
    const prepared = prepareBody(body, retry.maxBufferedBytes);
    if (pending === undefined && !(prepared instanceof Promise)) return this.#begin(prepared.body, prepared.replayable);
    Promise.all([prepared, pending]).then(
      ([{ body, replayable }]) => this.#begin(body, replayable),
      (error: unknown) => this.#fail(error as Error),
    );
  }

  #begin(body: Dispatcher.DispatchOptions['body'], replayable: boolean): void {
    this.#retriable = replayable;
    let headers = this.#opts.headers;
    if (this.#settings.hostHeader === 'service') headers = headers == null ? this.#target.hostHeaders : withHost(headers, this.#target.host);
    this.#send = { ...this.#opts, headers, body };
    this.#next();
  }

  /** Sends the next attempt, or ends the request with what the last one left when no instance is left to try. */
  #next(): void {
    if (this.#done) return;
    if (this.#aborted) return this.#fail(this.#reason!);
    let lease: Lease;
    try {
      lease = this.#route.acquire(this.#tried);
    } catch (error) {
      if (this.#held) return this.#deliverHeld();
      return this.#fail(this.#lastError ?? (error as Error));
    }
    const { instance } = lease;
    this.#tried.push(instance.id);
    this.#instanceId = instance.id;
    this.#lease = lease;
    this.#failed = false;
    this.#held = undefined;
    const secure = this.#target.secure || instance.metadata[this.#settings.tlsMetadataKey] === 'https';
    let pool: Dispatcher;
    try {
      pool = this.#route.pool(instance, secure ? this.#target.hostname : undefined);
    } catch (error) {
      return this.onResponseError(null, error as Error);
    }
    pool.dispatch(this.#send!, this);
  }

  #scheduleRetry(delayMs: number): void {
    // Not from inside the failed attempt's callback: its pool finishes its own bookkeeping first.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#next();
    }, delayMs);
  }

  /** Whether this request may take one more attempt after `result` (consumes a retry from the budget when it may). */
  #mayRetry(result: CallResult): boolean {
    const retry = this.#retry;
    if (!retry || !this.#retriable || this.#aborted) return false;
    if (this.#tried.length > retry.retries || !this.#route.hasUntried(this.#tried)) return false;
    const granted = this.#route.budget?.tryWithdraw() ?? false;
    const onRetry = this.#settings.onRetry;
    if (onRetry) {
      try {
        onRetry({ service: this.#route.name, instanceId: this.#instanceId, result, granted });
      } catch {
        // A listener's failure must not break the request it was told about.
      }
    }
    return granted;
  }

  #release(failed: boolean): void {
    const lease = this.#lease;
    if (!lease) return;
    this.#lease = undefined;
    lease.release(failed ? failedCall : succeeded);
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#handler.onResponseError?.(this, error);
  }

  #deliverHeld(): void {
    const held = this.#held!;
    this.#streaming = true;
    // Still held while the caller reads it: rawHeaders and rawTrailers come from it.
    this.#handler.onResponseStart?.(this, held.statusCode, held.headers, held.statusMessage);
    for (const chunk of held.chunks) this.#handler.onResponseData?.(this, chunk);
    this.#done = true;
    this.#handler.onResponseEnd?.(this, held.trailers ?? {});
    this.#held = undefined;
  }

  // ---- the caller's controller

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  get rawHeaders(): Controller['rawHeaders'] {
    return this.#held ? this.#held.rawHeaders : this.#controller?.rawHeaders;
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.#held ? this.#held.rawTrailers : this.#controller?.rawTrailers;
  }

  abort(reason?: Error): void {
    if (this.#aborted || this.#done) return;
    this.#aborted = true;
    this.#reason = reason ?? new errors.RequestAbortedError();
    // An attempt on a socket ends through its own onResponseError; one still queued for a
    // socket is aborted in onRequestStart. Otherwise nothing is out: end here.
    if (this.#controller) this.#controller.abort(this.#reason);
    else if (!this.#lease) this.#fail(this.#reason);
  }

  pause(): void {
    this.#paused = true;
    this.#controller?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#controller?.resume();
  }

  // ---- the current attempt's handler

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#aborted) controller.abort(this.#reason!);
    else if (this.#paused) controller.pause();
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.#release(false);
    this.#done = true;
    this.#handler.onRequestUpgrade?.(this, statusCode, headers, socket);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onBodySent(chunk: Buffer): void {
    this.#handler.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    this.#handler.onRequestSent?.();
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) {
      this.#handler.onResponseStart?.(this, statusCode, headers, statusMessage);
      return;
    }
    const isFailure = this.#settings.isFailure;
    // The default needs no result object built for it on every response.
    this.#failed = isFailure === defaultIsFailure ? statusCode >= 500 : isFailure({ statusCode });
    const retry = this.#retry;
    if (retry?.statuses.has(statusCode)) {
      const delay = retryAfterMs(headers);
      if (delay <= retry.maxRetryAfterMs && this.#mayRetry({ statusCode })) {
        this.#holding = true;
        this.#lastError = undefined;
        this.#held = { statusCode, headers, statusMessage, rawHeaders: controller.rawHeaders, chunks: [], size: 0 };
        this.#retryDelay = delay;
        return;
      }
    }
    this.#streaming = true;
    this.#handler.onResponseStart?.(this, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (!this.#holding) {
      this.#handler.onResponseData?.(this, chunk);
      return;
    }
    const held = this.#held!;
    held.chunks.push(chunk);
    held.size += chunk.byteLength;
    if (held.size > this.#retry!.maxBufferedBytes) {
      // Too big to keep back: the caller gets this response after all, and the rest streams.
      this.#holding = false;
      this.#held = undefined;
      this.#streaming = true;
      this.#handler.onResponseStart?.(this, held.statusCode, held.headers, held.statusMessage);
      for (const c of held.chunks) this.#handler.onResponseData?.(this, c);
    }
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#release(this.#failed);
    this.#controller = null;
    if (this.#holding) {
      this.#holding = false;
      this.#held!.trailers = trailers;
      this.#held!.rawTrailers = controller.rawTrailers;
      return this.#scheduleRetry(this.#retryDelay);
    }
    this.#done = true;
    this.#handler.onResponseEnd?.(this, trailers);
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    const aborted = this.#aborted;
    this.#release(aborted ? isCallerTimeout(this.#reason) : this.#settings.isFailure({ error }));
    this.#controller = null;
    if (this.#done) return;
    if (this.#holding) {
      // The response kept back broke off: it cannot be handed over, but the retry it earned stands.
      this.#holding = false;
      this.#held = undefined;
      this.#lastError = error;
      return this.#scheduleRetry(this.#retryDelay);
    }
    if (!this.#streaming && !aborted && this.#retry && isRetriableError(error, this.#retry) && this.#mayRetry({ error })) {
      this.#lastError = error;
      return this.#scheduleRetry(0);
    }
    this.#fail(error);
  }
}
