import { ProviderUnavailableError, type BackoffOptions, type DiscoveryError, type Instance, type Logger } from '@disco/core';
import { abortable, attachFollow, type AttachedSink, type FollowEnd, type FollowSink, type ListResult, type ServiceSource, type Unhook } from '@disco/core/provider';
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { MemberHealth } from './members.js';
import { release, type PrefixFeed } from './prefix-feed.js';

/** What the source of one service needs from its provider. */
export interface EtcdSourceContext {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly resyncMs: number;
  /** The provider's retry backoff: core's engine retries this source with it wherever it runs. */
  readonly backoff: BackoffOptions | undefined;
  /** How long letting go of a watcher may take when etcd does not answer the cancel. */
  readonly cancelTimeoutMs: number;
  readonly logger: Logger;
  /** Whether the provider is closed (a list then rejects with ERR_CLOSED). */
  assertOpen(): void;
  /** One key/value as an instance; undefined (reported once per key and revision) for a corrupt one or a key that holds none. */
  read(name: string, keyPrefix: string, kv: IKeyValue): Instance | undefined;
  toError(error: unknown, what: string): DiscoveryError;
  /** Member checks (two or more endpoints), so a watch served by a member cut off from its quorum moves. */
  readonly members: MemberHealth | undefined;
  /** Marks `name` as being listed or followed until the returned function is called (prefix mode counts these). */
  interest(name: string): () => void;
  /** The shared prefix feed when prefix mode is on for a list starting now, else undefined (a promise when that takes a turn to tell). */
  feedFor(name: string): PrefixFeed | undefined | Promise<PrefixFeed | undefined>;
}

/**
 * etcd mapped onto core's watch engine, for one service: the list is a range over
 * `<prefix><name>/` whose position is `header.revision + 1`; the follow is a prefix watch from
 * that position. A watch etcd cancels (its start revision was compacted) asks for a re-list,
 * never a resume at `compact_revision`; a disconnect fails the follow and the engine lists
 * again after its backoff (a list, on any member, is what makes compaction harmless).
 *
 * In prefix mode the list and the follow go to the shared {@link PrefixFeed} instead, which
 * hooks the engine's sink onto its one watch: a followed service then holds no watcher,
 * promise or controller of its own.
 */
export class EtcdSource implements ServiceSource<number> {
  readonly #name: string;
  readonly #context: EtcdSourceContext;
  /** The prefix feed the last list came from (its follow goes there too), or undefined in per-service mode. */
  #feed: PrefixFeed | undefined;

  constructor(name: string, context: EtcdSourceContext) {
    this.#name = name;
    this.#context = context;
  }

  get backoff(): BackoffOptions | undefined {
    return this.#context.backoff;
  }

  /** In prefix mode the feed re-lists the whole prefix itself; a re-list per service would cost a range each. */
  get resyncMs(): number {
    return this.#feed ? 0 : this.#context.resyncMs;
  }

  async list(signal: AbortSignal): Promise<ListResult<number>> {
    const context = this.#context;
    context.assertOpen();
    const leave = context.interest(this.#name);
    try {
      const feed = context.feedFor(this.#name);
      this.#feed = feed instanceof Promise ? await feed : feed;
      if (this.#feed) return await this.#feed.list(this.#name, signal);
      return await listOne(this.#name, context, signal);
    } finally {
      leave();
    }
  }

  attach(position: number, sink: AttachedSink<number>): Unhook<number> {
    if (this.#feed) return this.#feed.attach(this.#name, position, sink);
    const name = this.#name;
    const context = this.#context;
    return attachFollow(
      (from: number, into: FollowSink<number>, signal: AbortSignal) => {
        const leave = context.interest(name);
        return followOne(name, context, from, into, signal).finally(leave);
      },
      position,
      sink,
    );
  }
}

async function listOne(name: string, context: EtcdSourceContext, signal: AbortSignal): Promise<ListResult<number>> {
  const keyPrefix = `${context.prefix}${name}/`;
  let response;
  try {
    response = await abortable(context.client.getAll().prefix(keyPrefix).exec(), signal, `listing "${name}"`);
  } catch (error) {
    throw context.toError(error, `listing service "${name}"`);
  }
  const instances: Instance[] = [];
  for (const kv of response.kvs) {
    const instance = context.read(name, keyPrefix, kv);
    if (instance) instances.push(instance);
  }
  return { instances, position: Number(response.header.revision) + 1 };
}

function followOne(name: string, context: EtcdSourceContext, position: number, sink: FollowSink<number>, signal: AbortSignal): Promise<FollowEnd> {
  const keyPrefix = `${context.prefix}${name}/`;
  return new Promise<FollowEnd>((resolve, reject) => {
    let settled = false;
    let watcher: Watcher | undefined;
    let member: string | undefined;
    let releaseChecks: (() => void) | undefined;
    let stopBad: (() => void) | undefined;
    const finish = (settle: () => void, cancel: boolean) => {
      if (settled) return;
      settled = true;
      releaseChecks?.();
      stopBad?.();
      signal.removeEventListener('abort', onAbort);
      const current = watcher;
      watcher = undefined;
      if (!current) return settle();
      // Late events of a watcher being let go of must neither reach the sink nor crash the process.
      current.removeAllListeners().on('error', () => {});
      if (!cancel) return settle();
      void release(current, context.cancelTimeoutMs).then(settle);
    };
    const onAbort = () => finish(() => resolve('ended'), true);
    if (signal.aborted) return resolve('ended');
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      watcher = context.client.watch().prefix(keyPrefix).startRevision(String(position)).watcher();
    } catch (error) {
      finish(() => reject(context.toError(error, `watching service "${name}"`)), false);
      return;
    }
    const moveOff = (memberId: string) =>
      finish(() => reject(new ProviderUnavailableError('etcd', `the member serving the watch of "${name}" (${memberId}) cannot reach its quorum; watching from another member`)), true);
    const onMember = (memberId: string | undefined) => {
      if (memberId === undefined || memberId === '0' || memberId === member) return;
      member = memberId;
      if (context.members?.avoidMember(memberId)) moveOff(memberId);
    };
    if (context.members) {
      releaseChecks = context.members.use();
      stopBad = context.members.onBad((memberId) => {
        if (memberId === member) moveOff(memberId);
      });
    }
    watcher
      .on('connected', (response: { header?: { member_id?: string } }) => onMember(response.header?.member_id))
      .on('data', (response: IWatchResponse) => {
        if (settled) return;
        onMember(response.header.member_id);
        try {
          apply(response);
        } catch (error) {
          // A bug in reading a response must not escape into the etcd3 client (which would
          // rethrow it from a setImmediate): the follow fails and the engine lists again.
          finish(() => reject(context.toError(error, `reading a watch response of "${name}"`)), true);
        }
      })
      .on('disconnected', (error: Error) => {
        // The client would resume at its last revision by itself; the engine lists again instead, after its backoff.
        finish(() => reject(context.toError(error, `watching service "${name}"`)), true);
      })
      .on('error', (error: Error) => {
        // etcd cancelled the watch (usually: its start revision was compacted). The client has
        // already dropped the watcher. Never resume at compact_revision: list again.
        context.logger.info({ service: name, err: context.toError(error, 'watch') }, `etcd cancelled the watch of "${name}"; listing again`);
        finish(() => resolve('relist'), false);
      });

    function apply(response: IWatchResponse): void {
      for (const event of response.events) {
        // Already in the list this follow started from.
        if (Number(event.kv.mod_revision) < position) continue;
        const id = event.kv.key.toString().slice(keyPrefix.length);
        if (event.type === 'Delete') {
          sink.remove(id);
          continue;
        }
        const instance = context.read(name, keyPrefix, event.kv);
        // A corrupt overwrite means the old value is gone too.
        if (instance) sink.upsert(instance);
        else sink.remove(id);
      }
      sink.advance(Number(response.header.revision) + 1);
    }
  });
}
