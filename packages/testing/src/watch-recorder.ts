import type { Instance, WatchEvent } from '@disco/core';
import { waitFor } from './ports.js';

/** Records a watch's events so a test can wait for the snapshot it expects. */
export class WatchRecorder {
  readonly events: WatchEvent[] = [];
  /** Pass this to `watch()`. */
  readonly listener = (event: WatchEvent): void => void this.events.push(event);

  snapshots(): (readonly Instance[])[] {
    return this.events.flatMap((e) => ('instances' in e ? [e.instances] : []));
  }

  /** The latest snapshot, if any arrived. */
  last(): readonly Instance[] | undefined {
    return this.snapshots().at(-1);
  }

  /** The `{error}` events so far. */
  errors(): WatchEvent[] {
    return this.events.filter((e) => 'error' in e);
  }

  /** Waits until the latest snapshot passes `test`, and returns it. */
  async until(test: (instances: readonly Instance[]) => boolean, what: string, timeoutMs = 5_000): Promise<readonly Instance[]> {
    await waitFor(() => {
      const last = this.last();
      return last !== undefined && test(last);
    }, { timeoutMs, what });
    return this.last()!;
  }
}
