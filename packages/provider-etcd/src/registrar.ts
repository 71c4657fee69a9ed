import type { BackoffOptions, DiscoveryError, Logger, ProviderEvent, Service } from '@disco/core';
import { abortable, Backoff, delay, settleWithin } from '@disco/core/provider';
import { EtcdLeaseInvalidError, type Etcd3, type Lease } from 'etcd3';
import type { RecordCodec } from './record.js';

export interface RegistrarContext {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly codec: RecordCodec;
  readonly ttlSeconds: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  emit(event: ProviderEvent): void;
  toError(error: unknown, what: string): DiscoveryError;
}

interface Registration {
  readonly key: string;
  /** Undefined when nothing is stored (Go layout, unhealthy). */
  readonly value: string | undefined;
}

/**
 * This process's registrations, all attached to one lease kept alive by the client. When the
 * lease is lost (etcd expired it while we were cut off), a new one is granted and every
 * registration is put again, with backoff until it works.
 */
export class Registrar {
  readonly #context: RegistrarContext;
  readonly #entries = new Map<string, Registration>();
  /** The lease being granted or in use. */
  #lease: Lease | undefined;
  #granting: Promise<Lease> | undefined;
  /** The lease etcd confirmed; only its loss needs a restore. */
  #granted: Lease | undefined;
  #restoring = false;
  readonly #stop = new AbortController();

  constructor(context: RegistrarContext) {
    this.#context = context;
  }

  get size(): number {
    return this.#entries.size;
  }

  async register(service: Service, healthy: boolean, signal: AbortSignal | undefined): Promise<void> {
    const key = `${this.#context.prefix}${service.name}/${service.id}`;
    const value = this.#context.codec.encode(service, healthy);
    const previous = this.#entries.get(service.id);
    if (value === undefined) await abortable(this.#context.client.delete().key(key).exec(), signal);
    else await this.#put(key, value, signal);
    this.#entries.set(service.id, { key, value });
    // The same id under another name: the old key must go.
    if (previous && previous.key !== key) await this.#context.client.delete().key(previous.key).exec();
  }

  async deregister(id: string, signal: AbortSignal | undefined): Promise<void> {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    await abortable(this.#context.client.delete().key(entry.key).exec(), signal);
  }

  /** Revokes the lease, which deletes every key on it at once; bounded by `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.#stop.abort();
    this.#entries.clear();
    const lease = this.#lease;
    this.#lease = this.#granted = this.#granting = undefined;
    if (!lease) return;
    const revoked = lease.revoke().catch((error: unknown) => {
      this.#context.logger.warn({ err: this.#context.toError(error, 'revoking the lease') }, 'etcd lease not revoked; its keys expire with its TTL');
    });
    await settleWithin(revoked, timeoutMs);
  }

  async #put(key: string, value: string, signal: AbortSignal | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const lease = await abortable(this.#currentLease(), signal);
      try {
        await abortable(lease.put(key).value(value).exec(), signal);
        return;
      } catch (error) {
        // The lease died under us (the client emits 'lost' and a restore starts): once more on a new one.
        if (error instanceof EtcdLeaseInvalidError && attempt === 0) continue;
        throw error;
      }
    }
  }

  /** The live lease, granting one if there is none. */
  #currentLease(): Promise<Lease> {
    if (this.#granting) return this.#granting;
    const lease = this.#context.client.lease(this.#context.ttlSeconds);
    this.#lease = lease;
    lease.on('lost', (error: Error) => this.#onLost(lease, error));
    const granting = lease.grant().then(
      () => {
        if (this.#lease === lease) this.#granted = lease;
        return lease;
      },
      (error: unknown) => {
        if (this.#lease === lease) this.#lease = this.#granting = undefined;
        throw error;
      },
    );
    this.#granting = granting;
    return granting;
  }

  #onLost(lease: Lease, error: Error): void {
    if (lease !== this.#granted || this.#stop.signal.aborted) return;
    this.#lease = this.#granted = this.#granting = undefined;
    if (this.#entries.size === 0) return; // nothing to restore; the next register grants a lease
    this.#context.emit({
      type: 'lease-lost',
      message: `etcd lease lost; granting a new one and putting ${this.#entries.size} registration(s) again`,
      error: this.#context.toError(error, 'keeping the lease alive'),
    });
    void this.#restore();
  }

  async #restore(): Promise<void> {
    if (this.#restoring) return;
    this.#restoring = true;
    const backoff = new Backoff(this.#context.backoff);
    try {
      while (!this.#stop.signal.aborted) {
        try {
          const lease = await this.#currentLease();
          const entries = [...this.#entries.values()].filter((e): e is Registration & { value: string } => e.value !== undefined);
          await Promise.all(entries.map((e) => lease.put(e.key).value(e.value).exec()));
          if (lease !== this.#granted) continue; // lost again meanwhile
          this.#context.emit({ type: 'lease-restored', message: `new etcd lease granted; ${entries.length} registration(s) put again` });
          return;
        } catch (error) {
          if (this.#stop.signal.aborted) return;
          this.#context.logger.warn({ err: this.#context.toError(error, 'restoring registrations') }, 'etcd registrations not restored yet; retrying');
          await delay(backoff.next(), this.#stop.signal).catch(() => {});
        }
      }
    } finally {
      this.#restoring = false;
    }
  }
}
