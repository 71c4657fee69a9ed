import { runScript, startScript, waitFor } from '@disco/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'disco-run-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function script(name: string, code: string): string {
  const file = join(dir, name);
  writeFileSync(file, code);
  return file;
}

describe('runScript', () => {
  it('returns the exit code and everything the script printed, with env laid over and removed', async () => {
    process.env.DISCO_RUN_SCRIPT_DROP = 'present';
    const file = script('env.mjs', "console.log(process.argv[2], process.env.DISCO_X, process.env.DISCO_RUN_SCRIPT_DROP ?? 'gone'); console.error('to stderr'); process.exitCode = 3;");
    const result = await runScript(file, { args: ['arg'], env: { DISCO_X: 'x', DISCO_RUN_SCRIPT_DROP: undefined } });
    delete process.env.DISCO_RUN_SCRIPT_DROP;
    expect(result).toEqual({ code: 3, signal: null, stdout: 'arg x gone\n', stderr: 'to stderr\n' });
  });

  it('kills a script that runs past its timeout and rejects with its output so far', async () => {
    const file = script('hang.mjs', "console.log('started'); setInterval(() => {}, 1000);");
    const started = performance.now();
    await expect(runScript(file, { timeoutMs: 500 })).rejects.toThrow(/started/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('startScript exposes output while the script runs', async () => {
    const file = script('wait.mjs', "console.log('ready'); process.stdin.resume(); setTimeout(() => { console.log('done'); process.exit(0); }, 200);");
    const running = startScript(file);
    await waitFor(() => running.stdout.includes('ready'));
    expect(running.stdout).not.toContain('done');
    expect((await running.exited).stdout).toBe('ready\ndone\n');
  });
});
