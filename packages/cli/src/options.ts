import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes.js';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. Each backend flag stands for a variable and wins over it. */
export const globalOptions = {
  provider: { type: 'string', short: 'p' },
  static: { type: 'string' },
  'etcd-endpoints': { type: 'string' },
  'etcd-prefix': { type: 'string' },
  'consul-addr': { type: 'string' },
  'consul-token': { type: 'string' },
  namespace: { type: 'string' },
  'dns-server': { type: 'string' },
  set: { type: 'string', short: 'e', multiple: true },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** Which variable each backend flag sets. */
export const flagVariables = {
  provider: 'DISCOVERY_PROVIDER',
  static: 'DISCOVERY_STATIC_INSTANCES',
  'etcd-endpoints': 'ETCD_ENDPOINTS',
  'etcd-prefix': 'ETCD_DISCOVERY_PREFIX',
  'consul-addr': 'CONSUL_HTTP_ADDR',
  'consul-token': 'CONSUL_HTTP_TOKEN',
  namespace: 'K8S_NAMESPACE',
  'dns-server': 'DNS_SERVER',
} as const satisfies Partial<Record<keyof typeof globalOptions, string>>;

export type Values<O extends OptionSpecs> = {
  [K in keyof O]?: O[K] extends { multiple: true } ? string[] : O[K] extends { type: 'boolean' } ? boolean : string;
};

export interface Parsed<O extends OptionSpecs> {
  values: Values<typeof globalOptions> & Values<O>;
  positionals: string[];
}

/** Parses a command's arguments (its own flags and the global ones); anything unknown is a usage error. */
export function parseCommand<O extends OptionSpecs>(args: readonly string[], options: O, maxPositionals: number): Parsed<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { ...globalOptions, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.positionals.length > maxPositionals) throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`);
  return parsed as unknown as Parsed<O>;
}

/** The environment the configuration is read from: the process's, with the flags laid over it. */
export function environment(env: Readonly<Record<string, string | undefined>>, values: Values<typeof globalOptions>): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env };
  for (const assignment of values.set ?? []) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set takes VARIABLE=value; got "${assignment}"`);
    merged[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  for (const [flag, variable] of Object.entries(flagVariables)) {
    const value = values[flag as keyof typeof flagVariables];
    if (value !== undefined) merged[variable] = value;
  }
  return merged;
}

/** `-n 5`: a whole number in range, else a usage error naming the flag. */
export function integerFlag(value: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${flag} takes a whole number from ${min} to ${max}; got "${value}"`);
  return n;
}

/** The one positional a command needs (`disco ls <service>`). */
export function required(positionals: readonly string[], what: string, command: string): string {
  const value = positionals[0];
  if (value === undefined || value === '') throw new UsageError(`disco ${command} needs a ${what}: disco ${command} <${what}>`);
  return value;
}
