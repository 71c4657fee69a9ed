import type { Instance, WatchEvent } from '@disco/core';
import { waitFor } from '@disco/testing';

/** Records a watch's events and waits for the one a test expects. */
export class Recorder {
  readonly events: WatchEvent[] = [];
  readonly listener = (event: WatchEvent): void => void this.events.push(event);

  snapshots(): (readonly Instance[])[] {
    return this.events.flatMap((e) => ('instances' in e ? [e.instances] : []));
  }

  errors(): WatchEvent[] {
    return this.events.filter((e) => 'error' in e);
  }

  last(): WatchEvent | undefined {
    return this.events.at(-1);
  }

  async until(test: (instances: readonly Instance[]) => boolean, what: string, timeoutMs = 5_000): Promise<readonly Instance[]> {
    await waitFor(() => {
      const last = this.last();
      return last !== undefined && 'instances' in last && test(last.instances);
    }, { timeoutMs, what });
    return (this.last() as { instances: readonly Instance[] }).instances;
  }

  async untilError(what: string, timeoutMs = 5_000): Promise<void> {
    const seen = this.errors().length;
    await waitFor(() => this.errors().length > seen, { timeoutMs, what });
  }
}

export const ids = (instances: readonly Instance[]): string[] => instances.map((i) => i.id).sort();
