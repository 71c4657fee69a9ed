import { subscribe, tracingChannel, unsubscribe, type TracingChannelSubscribers } from 'node:diagnostics_channel';

/** Channel subscriptions made together and undone together. */
export class Subscriptions {
  readonly #undo: (() => void)[] = [];

  on<T>(name: string, handler: (message: T) => void): void {
    const listener = (message: unknown) => handler(message as T);
    subscribe(name, listener);
    this.#undo.push(() => unsubscribe(name, listener));
  }

  onTracing<C extends object>(name: string, handlers: Partial<TracingChannelSubscribers<C>>): void {
    const channel = tracingChannel<unknown, C>(name);
    // Node's TracingChannel.subscribe wants all five; the missing ones are no-ops.
    const all = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {}, ...handlers } as TracingChannelSubscribers<C>;
    channel.subscribe(all);
    this.#undo.push(() => channel.unsubscribe(all));
  }

  /** Also runs `undo` on dispose (observable callbacks, timers). */
  add(undo: () => void): void {
    this.#undo.push(undo);
  }

  dispose(): void {
    for (const undo of this.#undo.splice(0).reverse()) undo();
  }
}
