import type { Logger } from '@disco/core';
import { isRecoverableError, type Etcd3, type IOptions } from 'etcd3';

/**
 * gRPC metadata etcd reads to refuse work on a member without a leader
 * (`rpctypes.MetadataRequireLeaderKey` / `MetadataHasLeader`, what Go's `WithRequireLeader`
 * sends). A unary call is refused at once (`etcdserver: no leader`); a stream is refused when it
 * starts, and cancelled once the member has had no leader for three election timeouts.
 */
export const requireLeaderKey = 'hasleader';

/** The part of a grpc-js call an interceptor sees (etcd3 does not re-export grpc-js's types). */
interface Metadata {
  clone(): Metadata;
  set(key: string, value: string): void;
}
interface InterceptedCall {
  start(metadata: Metadata, listener: unknown): void;
}

/**
 * A grpc-js client interceptor that adds `hasleader: true` to a call's metadata. etcd3 has no
 * option for call metadata, but its `defaultCallOptions` hands grpc-js call options through,
 * and grpc-js runs the `interceptors` found there. The metadata object is cloned: etcd3 shares
 * one (holding the auth token) between calls.
 */
export function requireLeaderInterceptor(options: unknown, nextCall: (options: unknown) => InterceptedCall): InterceptedCall {
  const call = nextCall(options);
  return new Proxy(call, {
    get(target, property) {
      if (property === 'start') {
        return (metadata: Metadata, listener: unknown) => {
          const copy = metadata.clone();
          copy.set(requireLeaderKey, 'true');
          target.start(copy, listener);
        };
      }
      const value = (target as unknown as Record<PropertyKey, unknown>)[property];
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

interface MemberState {
  /** The member's id (from a response header), once one answer came back. */
  memberId: string | undefined;
  /** The last check failed: the member could not serve a linearizable read. Calls avoid it. */
  bad: boolean;
  /** Two checks in a row failed (the second at once after the first): the watches it serves move. */
  lost: boolean;
  /** Whoever follows a watch on it was told (once another member passed its check). */
  told: boolean;
}

export interface MemberHealthOptions {
  readonly hosts: readonly string[];
  readonly intervalMs: number;
  /** A client for one host, used only for the checks. */
  readonly makeClient: (host: string) => Etcd3;
  /** Key of the check read (a linearizable, keys-only read of one key). */
  readonly key: string;
  readonly logger: Logger;
}

/**
 * Which etcd members can serve a linearizable read. While something is watched, every member
 * is asked for one (one key, keys only, `hasleader`, deadline = the interval) each interval. A
 * member cut off from its quorum cannot answer (the read needs the leader), whether or not it
 * has noticed yet that it lost its leader; one that has noticed refuses at once. Such a member
 * is avoided by the client's connection pool ({@link HostGuard}) as long as another one is
 * healthy, and whoever follows a watch it serves is told ({@link onBad}) so the watch moves.
 */
export class MemberHealth {
  readonly #options: MemberHealthOptions;
  readonly #state = new Map<string, MemberState>();
  readonly #clients = new Map<string, Etcd3>();
  readonly #listeners = new Set<(memberId: string) => void>();
  #users = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #closed = false;

  constructor(options: MemberHealthOptions) {
    this.#options = options;
    for (const host of options.hosts) this.#state.set(host, { memberId: undefined, bad: false, lost: false, told: false });
  }

  /** Whether calls should skip `host`: it failed its last check and another member did not. */
  avoid(host: string): boolean {
    if (!this.#state.get(host)?.bad) return false;
    for (const state of this.#state.values()) if (!state.bad) return true;
    return false;
  }

  /** Whether the watches of the member with this id should move: it failed two checks in a row while another member passed. */
  avoidMember(memberId: string): boolean {
    for (const [host, state] of this.#state) if (state.memberId === memberId) return state.lost && this.avoid(host);
    return false;
  }

  /** Tells `listener` the id of each member that turns bad. */
  onBad(listener: (memberId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Checks run while at least one user holds this; returns the release. */
  use(): () => void {
    this.#users++;
    if (this.#users === 1) this.#schedule(0);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#users--;
      if (this.#users === 0) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  #schedule(ms: number): void {
    if (this.#closed || this.#users === 0 || this.#timer || this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#round();
    }, ms);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    this.#running = true;
    try {
      await Promise.all(this.#options.hosts.map((host) => this.#check(host)));
    } finally {
      this.#running = false;
    }
    // A lost member's watches move once another member passed (while all fail — an election
    // under way, the whole cluster down — there is nowhere better to go).
    for (const [host, state] of this.#state) {
      if (!state.lost || state.told || state.memberId === undefined || !this.avoid(host)) continue;
      state.told = true;
      for (const listener of this.#listeners) listener(state.memberId);
    }
    this.#schedule(this.#options.intervalMs);
  }

  async #check(host: string): Promise<void> {
    const state = this.#state.get(host)!;
    let client = this.#clients.get(host);
    if (!client) {
      client = this.#options.makeClient(host);
      this.#clients.set(host, client);
    }
    // A failed check is tried again at once: one failure (an election under way, a slow disk) only
    // steers new calls elsewhere; two in a row move the watches this member serves.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const response = await client.kv.range({ key: Buffer.from(this.#options.key), limit: 1, keys_only: true }, { deadline: Date.now() + this.#options.intervalMs });
        if (this.#closed) return;
        state.memberId = response.header.member_id;
        if (state.bad) this.#options.logger.info({ host }, `etcd member ${host} serves linearizable reads again`);
        state.bad = state.lost = state.told = false;
        return;
      } catch (error) {
        if (this.#closed || state.lost) return;
        if (!state.bad) {
          state.bad = true;
          this.#options.logger.warn({ host, err: error }, `etcd member ${host} cannot serve a linearizable read (cut off from its quorum, or down); avoiding it`);
          continue;
        }
        state.lost = true;
        return;
      }
    }
  }
}

/** What etcd3's connection pool calls around every call to one host (cockatiel's `IPolicy`, the part it uses). */
type HostPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['host']>;

/**
 * The connection pool's policy for one host: etcd3's default (a host that failed three calls in
 * a row is skipped for 5 s), and besides that a host {@link MemberHealth} found cut off from its
 * quorum is skipped while another is healthy, so lists and new watch streams go elsewhere.
 */
export function hostGuard(host: string, members: MemberHealth): ReturnType<HostPolicy> {
  let failures = 0;
  let openUntil = 0;
  const guard = {
    async execute<T>(fn: (context: { signal: AbortSignal; attempt: number }) => T | Promise<T>): Promise<T> {
      if (members.avoid(host)) throw new Error(`etcd member ${host} cannot serve linearizable reads (cut off from its quorum); using another member`);
      if (performance.now() < openUntil) throw new Error(`etcd member ${host} failed 3 calls in a row; skipped for 5 s`);
      try {
        const result = await fn({ signal: new AbortController().signal, attempt: 0 });
        failures = 0;
        return result;
      } catch (error) {
        if (error instanceof Error && isRecoverableError(error) && ++failures >= 3) {
          failures = 0;
          openUntil = performance.now() + 5_000;
        }
        throw error;
      }
    },
  };
  return guard as unknown as ReturnType<HostPolicy>;
}

/** A pass-through policy: the member checks want one attempt on one host, no retries. */
export const noPolicy = { execute: <T>(fn: (context: { signal: AbortSignal; attempt: number }) => T) => Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })) } as unknown as ReturnType<HostPolicy>;
