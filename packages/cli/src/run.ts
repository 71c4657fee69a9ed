import { isDiscoveryError } from '@disco/core';
import type { Command } from './command.js';
import { deregisterCommand } from './commands/deregister.js';
import { doctorCommand } from './commands/doctor.js';
import { lsCommand } from './commands/ls.js';
import { registerCommand } from './commands/register.js';
import { resolveCommand } from './commands/resolve.js';
import { servicesCommand } from './commands/services.js';
import { watchCommand } from './commands/watch.js';
import { Context } from './context.js';
import { exitCodeFor, exitCodes, UsageError, type ExitCode } from './exit-codes.js';
import { style, useColor, type Io } from './io.js';
import { parseCommand } from './options.js';
import { commandHelp, mainHelp } from './usage.js';

export const commands: readonly Command[] = [servicesCommand, lsCommand, watchCommand, resolveCommand, registerCommand, deregisterCommand, doctorCommand] as Command[];

export interface RunOptions {
  /** Aborted on SIGINT/SIGTERM: `watch` and `register --hold` end cleanly, anything else stops with 130. */
  interrupted?: AbortSignal;
  version?: string;
}

/** Runs `disco <args>` and resolves with the exit code; writes only to `io`. */
export async function run(args: readonly string[], io: Io, options: RunOptions = {}): Promise<ExitCode> {
  const [name, ...rest] = args;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? commandHelp(topic) : mainHelp(commands));
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${options.version ?? 'unknown'}\n`);
    return exitCodes.ok;
  }
  const command = commands.find((c) => c.name === name);
  const s = style(useColor(io.stderr, io.env, args.includes('--no-color')));
  try {
    if (!command) throw new UsageError(`unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')}`);
    const parsed = parseCommand(rest, command.options, command.maxPositionals);
    if (parsed.values.help) {
      io.stdout.write(commandHelp(command));
      return exitCodes.ok;
    }
    const interrupted = options.interrupted ?? new AbortController().signal;
    const code = await command.run(new Context(io, parsed.values, interrupted), parsed);
    return interrupted.aborted && command.name !== 'watch' && command.name !== 'register' ? exitCodes.interrupted : code;
  } catch (error) {
    if (options.interrupted?.aborted) return exitCodes.interrupted;
    const code = exitCodeFor(error);
    const label = isDiscoveryError(error) ? error.code : error instanceof UsageError ? 'usage' : 'error';
    io.stderr.write(`${s.red(`disco: ${label}`)}: ${error instanceof Error ? error.message : String(error)}\n`);
    if (code === exitCodes.usage) io.stderr.write(`run \`disco ${command ? `${command.name} ` : ''}--help\` for usage\n`);
    else if (!isDiscoveryError(error) && error instanceof Error && io.env.DISCO_DEBUG) io.stderr.write(`${error.stack}\n`);
    return code;
  }
}
