import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster, waitFor } from '@disco/testing';
import { etcdProvider, type EtcdProvider } from '../src/index.ts';
import { ensureBuilt } from './build.ts';
import { Recorder, unique } from './helpers.ts';

const fixture = fileURLToPath(new URL('./fixtures/registrant.ts', import.meta.url));

let etcd: EtcdCluster;
let watcher: EtcdProvider;
const children: ChildProcess[] = [];

function start(mode: 'hold' | 'close', name: string, id: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [fixture, mode, name, id], { env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoints.join(',') }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

beforeAll(async () => {
  ensureBuilt();
  etcd = await EtcdCluster.start();
  watcher = etcdProvider({ endpoints: etcd.endpoints });
}, 60_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await watcher?.close();
  await etcd?.stop();
});

describe('etcd provider across processes', () => {
  it('a SIGKILLed registrant disappears from a watcher within TTL + 1 s', async () => {
    const name = unique('svc');
    const recorder = new Recorder();
    watcher.watch(name, recorder.listener);
    const { child, output } = start('hold', name, 'victim');
    await waitFor(() => output().includes('registered'), { timeoutMs: 10_000, what: `the child to register (${output()})` });
    await recorder.until((s) => s.length === 1, 'the registration');
    const killedAt = performance.now();
    child.kill('SIGKILL');
    await recorder.until((s) => s.length === 0, 'the instance to expire', 3_000 + 1_000);
    const took = performance.now() - killedAt;
    console.log(`SIGKILLed registrant gone from the watcher after ${took.toFixed(0)} ms (TTL 2 s)`);
    expect(took).toBeLessThanOrEqual(3_000);
  });

  it('after close() nothing is left: the process exits by itself and its key is gone', async () => {
    const name = unique('svc');
    const { output, exited } = start('close', name, 'tidy');
    const started = performance.now();
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8_000).unref())]);
    expect(code, `child output: ${output()}`).toBe(0);
    expect(output()).toContain('closed');
    console.log(`child exited ${(performance.now() - started).toFixed(0)} ms after start, by itself`);
    expect(await watcher.discover(name)).toEqual([]);
  });
});
