import type { Instance } from '../service.js';

const isText = (value: unknown): value is string => typeof value === 'string';

/**
 * Why `value` is not a well-formed Instance, or undefined when it is. The engine runs every
 * instance a source hands it through this, so a mapping bug or a hostile record becomes one
 * `invalid-record` event instead of a non-string id in a balancer.
 */
export function instanceProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const i = value as Partial<Record<keyof Instance, unknown>>;
  if (!isText(i.id) || i.id === '') return 'id must be a non-empty string';
  if (!isText(i.name) || i.name === '') return 'name must be a non-empty string';
  if (!isText(i.address) || i.address === '') return 'address must be a non-empty string';
  if (!Number.isInteger(i.port) || (i.port as number) < 0 || (i.port as number) > 65_535) return 'port must be an integer from 0 to 65535';
  if (typeof i.healthy !== 'boolean') return 'healthy must be a boolean';
  if (typeof i.weight !== 'number' || !Number.isFinite(i.weight) || i.weight < 0) return 'weight must be a finite number ≥ 0';
  if (i.version !== undefined && !isText(i.version)) return 'version must be a string';
  if (i.zone !== undefined && !isText(i.zone)) return 'zone must be a string';
  if (!Array.isArray(i.tags)) return 'tags must be an array';
  for (let t = 0; t < i.tags.length; t++) if (!isText(i.tags[t])) return 'tags must be strings';
  if (typeof i.metadata !== 'object' || i.metadata === null) return 'metadata must be an object';
  for (const key in i.metadata) if (!isText((i.metadata as Record<string, unknown>)[key])) return `metadata "${key}" must be a string`;
  return undefined;
}
