import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { waitFor } from './ports.js';

/** Finds an executable: `$<envVar>`, then PATH, then the usual Debian locations. */
export function findBinary(name: string, envVar?: string): string {
  const fromEnv = envVar ? process.env[envVar] : undefined;
  if (fromEnv) return fromEnv;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} is not installed: run ./run setup (or apt-get install the Debian package providing it)${envVar ? `, or set ${envVar}` : ''}`);
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `disco-${prefix}-`));
}

export interface ProcessSpec {
  /** For messages: "etcd member 2". */
  name: string;
  command: string;
  args: readonly string[];
  /** Resolves true once the process serves. */
  ready: () => boolean | Promise<boolean>;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * One server process the tests started: started and stopped by PID, its output kept for
 * failure messages, never left running (stopped on exit of the test process too).
 */
export class LaunchedProcess {
  readonly spec: ProcessSpec;
  #child: ChildProcess | undefined;
  #output = '';

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The last 4 KiB the process printed. */
  get output(): string {
    return this.#output.slice(-4096);
  }

  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn(this.spec.command, [...this.spec.args], { stdio: ['ignore', 'pipe', 'pipe'], env: this.spec.env ?? process.env });
    this.#child = child;
    live.add(this);
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString()).slice(-16_384);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`${this.spec.name} exited early (code ${code}, signal ${signal}):\n${this.output}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitFor(this.spec.ready, { timeoutMs: this.spec.readyTimeoutMs ?? 15_000, what: `${this.spec.name} to serve` }), exited]).catch((error: unknown) => {
      this.kill();
      throw error instanceof Error && !error.message.includes(this.spec.name) ? new Error(`${this.spec.name}: ${error.message}\n${this.output}`) : error;
    });
  }

  /** Stops the process (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 3_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) {
      live.delete(this);
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    live.delete(this);
  }

  /** SIGKILL, no grace: a crash. */
  async crash(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    live.delete(this);
  }

  /** Sends a signal (SIGSTOP / SIGCONT to freeze and thaw a server). */
  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  private kill(): void {
    if (this.running) this.#child?.kill('SIGKILL');
    live.delete(this);
  }
}

const live = new Set<LaunchedProcess>();
process.once('exit', () => {
  for (const p of live) if (p.pid !== undefined) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
});

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
