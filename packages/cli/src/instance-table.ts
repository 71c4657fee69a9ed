import { endpoint, type Instance } from '@disco/core';
import type { Style } from './io.js';
import { table } from './table.js';

export const instanceHeader = ['ID', 'ADDRESS:PORT', 'HEALTHY', 'ZONE', 'WEIGHT', 'VERSION', 'TAGS'] as const;

/** Instances as `disco ls` and `disco watch` show them, sorted by id. */
export function instanceTable(instances: readonly Instance[], s: Style): string {
  const rows = [...instances]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((i) => [i.id, endpoint(i), i.healthy ? s.green('yes') : s.red('no'), i.zone ?? '-', String(i.weight), i.version ?? '-', i.tags.length > 0 ? i.tags.join(',') : '-']);
  return table(instanceHeader, rows);
}

/** The fields of an instance for `--json` (what `disco ls --json` prints, one object each). */
export function instanceJson(instance: Instance): Record<string, unknown> {
  return { ...instance, endpoint: endpoint(instance) };
}
