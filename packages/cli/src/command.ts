import type { ParseArgsConfig } from 'node:util';
import type { Context } from './context.js';
import type { ExitCode } from './exit-codes.js';
import type { Parsed } from './options.js';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** One `disco <name>` subcommand. */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  /** `ls <service>`: the synopsis after `disco`. */
  readonly synopsis: string;
  readonly summary: string;
  /** Its own flags, each with a line of help. */
  readonly options: O;
  readonly optionHelp: Readonly<Record<keyof O & string, string>>;
  readonly maxPositionals: number;
  run(context: Context, parsed: Parsed<O>): Promise<ExitCode>;
}

/** Keeps each command's option types while listing them together. */
export function defineCommand<O extends OptionSpecs>(command: Command<O>): Command<O> {
  return command;
}
