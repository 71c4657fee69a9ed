export { run, commands, type RunOptions } from './run.js';
export { exitCodes, exitCodeFor, UsageError, type ExitCode } from './exit-codes.js';
export type { Io } from './io.js';
export type { Command } from './command.js';
