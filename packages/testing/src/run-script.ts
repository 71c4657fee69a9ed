import { spawn } from 'node:child_process';

export interface ScriptOptions {
  args?: readonly string[];
  /** Laid over `process.env`; a variable set to `undefined` is removed (e.g. so an example starts its own server). */
  env?: Record<string, string | undefined>;
  /** After this long the script is killed and `exited` rejects with its output so far. Default 30 s. */
  timeoutMs?: number;
}

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A script started by `startScript`: its output so far (readable while it runs) and its end. */
export interface RunningScript {
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once the script exited and its output is read to the end. */
  readonly exited: Promise<ScriptResult>;
  /** Sends the script a signal (SIGINT for a Ctrl-C), e.g. to check it shuts down cleanly. */
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<number>();
let hooked = false;

/** Runs `node <file> ...args` (a `.ts` file runs type-stripped) and resolves with how it ended and all it printed. */
export function runScript(file: string, options: ScriptOptions = {}): Promise<ScriptResult> {
  return startScript(file, options).exited;
}

/** Like `runScript`, for a test that reacts to the output while the script runs. */
export function startScript(file: string, options: ScriptOptions = {}): RunningScript {
  const { args = [], timeoutMs = 30_000 } = options;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  if (child.pid !== undefined) running.add(child.pid);
  if (!hooked) {
    hooked = true;
    // A test that fails mid-run must not leave its script behind.
    process.once('exit', () => {
      for (const pid of running) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exited = new Promise<ScriptResult>((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close', not 'exit': by then stdout and stderr are read to the end.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      if (!timedOut) return resolve({ code, signal, ...output });
      const tail = (text: string) => text.slice(-4096) || '(nothing)';
      reject(new Error(`${file} did not exit within ${timeoutMs} ms and was killed\nstdout: ${tail(output.stdout)}\nstderr: ${tail(output.stderr)}`));
    });
  });
  // A test that gave up before awaiting it must not see an unhandled rejection too.
  exited.catch(() => {});
  return {
    get stdout() {
      return output.stdout;
    },
    get stderr() {
      return output.stderr;
    },
    exited,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}
