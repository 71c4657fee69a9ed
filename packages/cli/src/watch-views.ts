import { endpoint, type DiscoveryError, type Instance, type WatchEvent } from '@disco/core';
import type { Context } from './context.js';
import { instanceJson, instanceTable } from './instance-table.js';

/** How `disco watch` shows each event. */
export interface WatchView {
  update(event: WatchEvent): void;
  end(): void;
}

const clock = (date: Date) => date.toTimeString().slice(0, 8);

/**
 * On a terminal: the whole view redrawn in place (cursor up over what was drawn, clear to the
 * end of the screen), with when it last changed and whether the backend is failing.
 */
export class LiveView implements WatchView {
  readonly #context: Context;
  readonly #name: string;
  #instances: readonly Instance[] | undefined;
  #error: { error: DiscoveryError; since: Date } | undefined;
  #changed = new Date();
  #drawnLines = 0;

  constructor(context: Context, name: string) {
    this.#context = context;
    this.#name = name;
    context.out('\x1b[?25l'); // hide the cursor while the view redraws
    this.#draw();
  }

  update(event: WatchEvent): void {
    if ('instances' in event) {
      this.#instances = event.instances;
      this.#error = undefined;
      this.#changed = new Date();
    } else {
      this.#error ??= { error: event.error, since: new Date() };
    }
    this.#draw();
  }

  end(): void {
    this.#context.out('\x1b[?25h');
  }

  #draw(): void {
    const s = this.#context.style;
    const lines: string[] = [];
    const instances = this.#instances;
    if (instances === undefined) lines.push(`${s.bold(this.#name)}  waiting for the first snapshot…`);
    else {
      const healthy = instances.filter((i) => i.healthy).length;
      lines.push(`${s.bold(this.#name)}  ${instances.length} instance(s), ${healthy} healthy  ${s.dim(`changed ${clock(this.#changed)}`)}`);
    }
    if (this.#error) lines.push(s.red(`backend failing since ${clock(this.#error.since)}: ${this.#error.error.code} ${this.#error.error.message}`) + (instances ? s.dim(' (showing the last snapshot)') : ''));
    lines.push('');
    if (instances !== undefined) lines.push(...(instances.length > 0 ? instanceTable(instances, s).trimEnd().split('\n') : [s.dim('no instances')]));
    lines.push('', s.dim('Ctrl-C to quit'));
    const up = this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}A\r` : '';
    this.#context.out(`${up}\x1b[J${lines.join('\n')}\n`);
    this.#drawnLines = lines.length;
  }
}

/** Piped: one timestamped line per change (or one JSON object per line with --json). */
export class LineLog implements WatchView {
  readonly #context: Context;
  readonly #name: string;
  #previous = new Map<string, Instance>();

  constructor(context: Context, name: string) {
    this.#context = context;
    this.#name = name;
  }

  update(event: WatchEvent): void {
    const time = new Date().toISOString();
    if (this.#context.json) {
      const line = 'instances' in event ? { time, service: this.#name, instances: event.instances.map(instanceJson) } : { time, service: this.#name, error: { code: event.error.code, message: event.error.message } };
      this.#context.out(`${JSON.stringify(line)}\n`);
      return;
    }
    if (!('instances' in event)) {
      this.#context.out(`${time} ${this.#name} error ${event.error.code}: ${event.error.message}\n`);
      return;
    }
    const next = new Map(event.instances.map((i) => [i.id, i]));
    const changes: string[] = [];
    for (const [id, instance] of next) {
      const before = this.#previous.get(id);
      if (!before) changes.push(`+${id}@${endpoint(instance)}${instance.healthy ? '' : '(unhealthy)'}`);
      else if (before.healthy !== instance.healthy) changes.push(`~${id} ${instance.healthy ? 'healthy' : 'unhealthy'}`);
      else if (before !== instance) changes.push(`~${id}`);
    }
    for (const id of this.#previous.keys()) if (!next.has(id)) changes.push(`-${id}`);
    this.#previous = next;
    const healthy = event.instances.filter((i) => i.healthy).length;
    this.#context.out(`${time} ${this.#name} ${event.instances.length} instance(s), ${healthy} healthy${changes.length > 0 ? ` ${changes.join(' ')}` : ''}\n`);
  }

  end(): void {}
}
