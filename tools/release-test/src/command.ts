import { spawn } from 'node:child_process';

export interface CommandOptions {
  cwd: string;
  /** Laid over `process.env`. */
  env?: Record<string, string>;
  /** Killed after this long, and the command fails. Default 60 s. */
  timeoutMs?: number;
}

export interface CommandResult {
  code: number | null;
  /** stdout and stderr as they came, for failure messages. */
  output: string;
  stdout: string;
}

/** Runs a command to its end; never throws for a non-zero exit (see {@link mustRun}). */
export function runCommand(command: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...options.env };
    // pnpm's bin shims (vitest's too) point NODE_PATH at the monorepo's hoisted packages: a fresh
    // app's require() would find them there instead of failing.
    delete env.NODE_PATH;
    const child = spawn(command, [...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`\`${command} ${args.join(' ')}\` in ${options.cwd} took over ${options.timeoutMs ?? 60_000} ms:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, stdout });
    });
  });
}

/** Runs a command and fails, with everything it printed, unless it exits 0. */
export async function mustRun(command: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) throw new Error(`\`${command} ${args.join(' ')}\` in ${options.cwd} exited ${result.code}:\n${result.output}`);
  return result;
}
