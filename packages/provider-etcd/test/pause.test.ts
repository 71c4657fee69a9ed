import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCluster, waitFor } from '@disco/testing';
import { etcdProvider, type EtcdProvider } from '../src/index.ts';
import { ensureBuilt } from './build.ts';
import { Recorder, unique } from './helpers.ts';

// A registrant that stops (SIGSTOP: a long GC pause, a frozen VM) for longer than its lease
// TTL loses its lease: watchers see it leave. When it resumes (SIGCONT) its client learns the
// lease is gone, grants a new one and puts its registration again: watchers see it come back,
// and the registrant's provider reports lease-lost, then lease-restored.

const fixture = fileURLToPath(new URL('./fixtures/registrant.ts', import.meta.url));
const ttlMs = 2_000; // the fixture registers with ttl '2s'
let etcd: EtcdCluster;
let watcher: EtcdProvider;
let child: ChildProcess | undefined;

beforeAll(async () => {
  ensureBuilt();
  etcd = await EtcdCluster.start();
  watcher = etcdProvider({ endpoints: etcd.endpoints }, { env: {} });
}, 60_000);
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await watcher?.close();
  await etcd?.stop();
});

describe('a paused registrant', () => {
  it('SIGSTOP for longer than its TTL: watchers see it leave; SIGCONT: it reports lease-lost and lease-restored, and watchers see it back', async () => {
    const name = unique('paused');
    const recorder = new Recorder();
    watcher.watch(name, recorder.listener);
    const started = spawn(process.execPath, [fixture, 'hold', name, 'sleeper'], { env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoints.join(',') }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let out = '';
    started.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    started.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(() => out.includes('registered'), { timeoutMs: 10_000, what: `the child to register (${out})` });
    await recorder.until((s) => s.length === 1, 'the registration');

    const stoppedAt = performance.now();
    started.kill('SIGSTOP');
    await recorder.until((s) => s.length === 0, 'the paused registrant to leave', ttlMs + 3_000);
    const goneMs = performance.now() - stoppedAt;
    // Stay paused well past the TTL, as a long pause would.
    await new Promise((r) => setTimeout(r, Math.max(0, 2 * ttlMs - goneMs)));
    const resumedAt = performance.now();
    started.kill('SIGCONT');
    await recorder.until((s) => s.length === 1 && s[0]!.id === 'sleeper', 'the registrant to come back', 10_000);
    const backMs = performance.now() - resumedAt;
    await waitFor(() => out.includes('event lease-restored'), { timeoutMs: 5_000, what: `the registrant to report lease-restored (${out})` });
    const events = out.split('\n').filter((line) => line.startsWith('event ')).map((line) => line.slice(6));
    console.log(`paused ${((resumedAt - stoppedAt) / 1000).toFixed(1)} s with TTL ${ttlMs / 1000} s: gone from the watcher after ${goneMs.toFixed(0)} ms, back ${backMs.toFixed(0)} ms after SIGCONT; registrant events: ${events.join(', ')}`);
    expect(events).toEqual(['lease-lost', 'lease-restored']);
    expect(recorder.errors()).toEqual([]); // leaving and coming back is data, not an outage
  }, 30_000);
});
