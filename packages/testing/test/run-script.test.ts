import { runReadmeExample, runScript, startScript, waitFor } from '@disco/testing';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

  it('startScript sends the script a signal, as Ctrl-C would', async () => {
    const file = script('sigint.mjs', "process.on('SIGINT', () => { console.log('interrupted'); process.exit(3); }); console.log('ready'); setInterval(() => {}, 1000);");
    const running = startScript(file);
    await waitFor(() => running.stdout.includes('ready'));
    running.kill('SIGINT');
    expect(await running.exited).toMatchObject({ code: 3, stdout: 'ready\ninterrupted\n' });
  });
});

describe('runReadmeExample', () => {
  const readme = script(
    'README.md',
    [
      '# pkg', '', '## Install', '', '```sh', 'pnpm add pkg', '```', '',
      '## Example', '', 'Text first.', '', '```ts', "const n: number = 2;", "console.log('example', n * 21);", '```', '',
      '```ts', "console.log('second block');", '```', '',
      '## Empty', '', 'No code here.', '', '## Later', '', '```ts', "console.log('later');", '```', '',
    ].join('\n'),
  );

  it('runs the first ts block under the heading as a type-stripped script and removes the file', async () => {
    const result = await runReadmeExample(readme, 'Example', dir);
    expect(result).toMatchObject({ code: 0, stdout: 'example 42\n', stderr: '' });
    expect(readdirSync(dir).filter((f) => f.startsWith('readme-'))).toEqual([]);
  });

  it('does not take a block from the next section, and names what is missing', async () => {
    await expect(runReadmeExample(readme, 'Empty', dir)).rejects.toThrow(/has no ```ts block under "## Empty"/);
    await expect(runReadmeExample(readme, 'Nope', dir)).rejects.toThrow(/has no ```ts block under "## Nope"/);
    expect((await runReadmeExample(readme, 'Later', dir)).stdout).toBe('later\n');
  });
});
