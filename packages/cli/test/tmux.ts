import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A real terminal: a detached tmux session on its own server socket, read with capture-pane. */
export class TmuxSession {
  readonly #socket = `disco-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  static async start(command: string, size = { columns: 120, rows: 30 }): Promise<TmuxSession> {
    const session = new TmuxSession();
    await session.#tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'disco', '-x', String(size.columns), '-y', String(size.rows), command);
    return session;
  }

  /** The screen as shown; with `escapes`, including the colour sequences. */
  async screen(escapes = false): Promise<string> {
    const { stdout } = await this.#tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', 'disco');
    return stdout;
  }

  /** Types keys (`C-c` for Ctrl-C). */
  async sendKeys(...keys: string[]): Promise<void> {
    await this.#tmux('send-keys', '-t', 'disco', ...keys);
  }

  async kill(): Promise<void> {
    await this.#tmux('kill-server').catch(() => {});
  }

  #tmux(...args: string[]) {
    return run('tmux', ['-L', this.#socket, ...args], { env: { ...process.env, TMUX: undefined } });
  }
}
