import type { DiscoveryError, Instance, InvalidRecordError } from '@disco/core';
import { attachFollow, type AttachedSink, type FollowEnd, type FollowSink } from '@disco/core/provider';
import type { KubernetesSource } from './kubernetes-source.js';

/** The position of a list answered by the namespace feed: a watch of one's own lists first. */
export const fromFeed = 'namespace-feed';

/** Who runs own watches: told when one ended by itself (before its engine hears of it). */
export interface OwnWatchOwner {
  ended(watch: OwnWatch): void;
}

/**
 * A service's own list + watch ({@link KubernetesSource}) run for an engine's sink, as an
 * attachment that can be taken back without the engine seeing an end: what it delivers and how
 * it ends reach the engine only while it is live, and `stop` lets go of it silently (the mode
 * flipped to the namespace feed, or the engine unhooked). From the feed's position it lists
 * first and hands the engine that list (`replace`), so a move off the feed leaves no gap.
 * Per-service mode may cost a follow's promise and controller: it holds a connection anyway.
 */
export class OwnWatch implements AttachedSink<string> {
  readonly source: KubernetesSource;
  readonly sink: AttachedSink<string>;
  readonly #owner: OwnWatchOwner;
  readonly #stop: () => Promise<void>;
  #live = true;

  constructor(source: KubernetesSource, position: string, sink: AttachedSink<string>, owner: OwnWatchOwner) {
    this.source = source;
    this.sink = sink;
    this.#owner = owner;
    this.#stop = attachFollow((from: string, into: FollowSink<string>, signal: AbortSignal) => this.#follow(from, into, signal), position, this);
  }

  get service(): string {
    return this.sink.service;
  }

  /** Lets go without a word to the engine; resolves once the watch has let go of its connection. */
  stop(): Promise<void> {
    this.#live = false;
    return this.#stop();
  }

  async #follow(position: string, sink: FollowSink<string>, signal: AbortSignal): Promise<FollowEnd> {
    if (position === fromFeed) {
      const listed = await this.source.list(signal);
      if (signal.aborted) return 'ended';
      sink.replace(listed.instances, listed.position);
      position = listed.position!;
    }
    return this.source.follow(position, sink, signal);
  }

  replace(instances: Iterable<Instance>, position?: string): void {
    if (this.#live) this.sink.replace(instances, position);
  }

  resync(instances: Iterable<Instance>, position?: string): void {
    if (this.#live) this.sink.resync(instances, position);
  }

  upsert(instance: Instance): void {
    if (this.#live) this.sink.upsert(instance);
  }

  remove(id: string): void {
    if (this.#live) this.sink.remove(id);
  }

  advance(position: string): void {
    if (this.#live) this.sink.advance(position);
  }

  invalid(error: InvalidRecordError): void {
    if (this.#live) this.sink.invalid(error);
  }

  stale(error: DiscoveryError): void {
    if (this.#live) this.sink.stale(error);
  }

  end(result: FollowEnd | DiscoveryError): void {
    if (!this.#live) return;
    this.#live = false;
    this.#owner.ended(this);
    this.sink.end(result);
  }
}
