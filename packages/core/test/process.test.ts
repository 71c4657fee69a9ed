import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These run the built package (dist) in a child process, as an application would.
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const packageDir = fileURLToPath(new URL('../', import.meta.url));

interface Run {
  lines: string[];
  code: number | null;
  /** ms from the first line matching `mark` to exit */
  afterMark: number;
}

function run(script: string, args: string[] = [], options: { cwd?: string; mark?: RegExp; onLine?: (line: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd ?? packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let markedAt = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        if (!markedAt && options.mark?.test(line)) markedAt = performance.now();
        options.onLine?.(line, (s) => child.kill(s));
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit in 15 s; output: ${lines.join('\n')}\n${stderr}`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (stderr && code !== 0 && code !== 1) reject(new Error(stderr));
      resolve({ lines, code, afterMark: markedAt ? performance.now() - markedAt : NaN });
    });
  });
}

describe('nothing leaks', () => {
  it('a process that registers, watches, resolves and closes exits by itself within 1 s', async () => {
    const result = await run(join(fixtures, 'leak.mjs'), [], { mark: /^closed/ });
    expect(result.code).toBe(0);
    const resources = JSON.parse(result.lines.find((l) => l.startsWith('closed'))!.slice('closed '.length)) as string[];
    expect(resources.filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'FSEventWrap')).toEqual([]);
    expect(result.afterMark).toBeLessThan(1000);
  });
});

describe('onShutdown', () => {
  it('on SIGTERM: deregisters, drains, closes and exits 0', async () => {
    const started = performance.now();
    const result = await run(join(fixtures, 'shutdown.mjs'), ['300ms', '5s'], { onLine: (line, kill) => line === 'ready' && kill('SIGTERM') });
    expect(result.lines).toEqual(['ready', 'registered during drain: 0', 'exit 0']);
    expect(performance.now() - started).toBeGreaterThan(300);
  });

  it('a second signal exits at once with a non-zero code', async () => {
    const started = performance.now();
    let sent = 0;
    const result = await run(join(fixtures, 'shutdown.mjs'), ['10s', '30s'], {
      onLine: (line, kill) => {
        if (line === 'ready') {
          kill('SIGTERM');
          setTimeout(() => kill('SIGINT'), 100);
          sent++;
        }
      },
    });
    expect(sent).toBe(1);
    expect(result.code).toBe(1);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('the timeout forces exit with a non-zero code', async () => {
    const result = await run(join(fixtures, 'shutdown.mjs'), ['10s', '200ms'], { onLine: (line, kill) => line === 'ready' && kill('SIGTERM') });
    expect(result.code).toBe(1);
    expect(result.lines.at(-1)).toBe('exit 1');
  });
});

describe('providers and balancers named by string', () => {
  it('fail with ERR_PROVIDER_NOT_INSTALLED naming what to add when the package is missing', async () => {
    // An app folder holding only @disco/core, as after `pnpm add @disco/core`.
    const app = mkdtempSync(join(tmpdir(), 'disco-app-'));
    try {
      const core = join(app, 'node_modules/@disco/core');
      mkdirSync(core, { recursive: true });
      cpSync(join(packageDir, 'package.json'), join(core, 'package.json'));
      cpSync(join(packageDir, 'dist'), join(core, 'dist'), { recursive: true });
      writeFileSync(join(app, 'package.json'), '{"type":"module"}');
      cpSync(join(fixtures, 'not-installed.mjs'), join(app, 'main.mjs'));
      const result = await run(join(app, 'main.mjs'), [], { cwd: app });
      const out = result.lines.map((l) => JSON.parse(l) as { provider?: string; code: string; message: string });
      expect(out.map((o) => o.code)).toEqual(Array(5).fill('ERR_PROVIDER_NOT_INSTALLED'));
      expect(out[0]!.message).toContain('pnpm add @disco/provider-etcd etcd3');
      expect(out[1]!.message).toContain('pnpm add @disco/provider-consul');
      expect(out[2]!.message).toContain('pnpm add @disco/provider-k8s @kubernetes/client-node');
      expect(out[3]!.message).toContain('pnpm add @disco/provider-dns');
      expect(out[4]!.message).toContain('pnpm add @disco/balancers');
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
