import type { ProviderEvent } from '@disco/core';
import { waitFor } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ids, Recorder, startDouble, type DoubleFixture } from './helpers.js';

let f: DoubleFixture;
beforeAll(async () => {
  f = await startDouble();
});
afterAll(() => f.close());

describe('pods mode', () => {
  it('finds pods by label selector in a namespace: pod IP, container port by name or number', async () => {
    f.double.applyPod({ name: 'user-1', namespace: 'production', labels: { app: 'user-service', 'app.kubernetes.io/version': '1.4.2' }, ip: '10.9.0.1', nodeName: 'node-a', ports: [{ name: 'http', containerPort: 3000 }, { name: 'metrics', containerPort: 9100 }] });
    f.double.applyPod({ name: 'user-2', namespace: 'production', labels: { app: 'user-service' }, ip: '10.9.0.2', ports: [{ name: 'http', containerPort: 3000 }, { name: 'metrics', containerPort: 9100 }] });
    f.double.applyPod({ name: 'user-x', namespace: 'staging', labels: { app: 'user-service' }, ip: '10.9.0.3' });
    f.double.applyPod({ name: 'billing-1', namespace: 'production', labels: { app: 'billing' }, ip: '10.9.0.4' });
    const provider = f.provider({ mode: 'pods', namespace: 'production', port: 'http' });
    const found = await provider.discover('user-service');
    expect(found.map((i) => [i.id, i.address, i.port])).toEqual([
      ['user-1', '10.9.0.1', 3000],
      ['user-2', '10.9.0.2', 3000],
    ]);
    expect(found[0]).toMatchObject({ name: 'user-service', version: '1.4.2', healthy: true, metadata: { 'k8s.namespace': 'production', 'k8s.pod': 'user-1', 'k8s.node': 'node-a' } });
    expect((await f.provider({ mode: 'pods', namespace: 'production', port: 9100 }).discover('user-service')).map((i) => i.port)).toEqual([9100, 9100]);
    // A number need not be declared: containers often do not list their ports.
    expect((await f.provider({ mode: 'pods', namespace: 'production', port: 7000 }).discover('user-service')).map((i) => i.port)).toEqual([7000, 7000]);
    expect(ids(await f.provider({ mode: 'pods', namespace: 'production', labelSelector: 'app in ({service}, billing)', port: 'http' }).discover('user-service'))).toEqual(['billing-1', 'user-1', 'user-2']);
  });

  it('follows the Ready condition: a pod turning unready leaves the snapshot', async () => {
    const pod = (ready: boolean) => f.double.applyPod({ name: 'orders-1', labels: { app: 'orders' }, ip: '10.10.0.1', ready });
    pod(true);
    f.double.applyPod({ name: 'orders-2', labels: { app: 'orders' }, ip: '10.10.0.2' });
    const recorder = new Recorder();
    const stop = f.provider({ mode: 'pods' }).watch('orders', recorder.listener);
    await waitFor(() => ids(recorder.last()).join() === 'orders-1,orders-2', { what: 'both pods' });
    pod(false);
    await waitFor(() => ids(recorder.last()).join() === 'orders-2', { what: 'the unready pod to leave' });
    pod(true);
    await waitFor(() => ids(recorder.last()).join() === 'orders-1,orders-2', { what: 'the pod back' });
    f.double.delete('pods', 'orders-2');
    await waitFor(() => ids(recorder.last()).join() === 'orders-1', { what: 'the deleted pod to leave' });
    stop();
  });

  it('leaves out pods without an IP and finished pods; applies the terminating policy to pods being deleted', async () => {
    f.double.applyPod({ name: 'jobs-pending', labels: { app: 'jobs' }, phase: 'Pending' });
    f.double.applyPod({ name: 'jobs-done', labels: { app: 'jobs' }, ip: '10.11.0.1', phase: 'Succeeded' });
    f.double.applyPod({ name: 'jobs-running', labels: { app: 'jobs' }, ip: '10.11.0.2' });
    f.double.applyPod({ name: 'jobs-stopping', labels: { app: 'jobs' }, ip: '10.11.0.3', deleting: true });
    expect(ids(await f.provider({ mode: 'pods' }).discover('jobs'))).toEqual(['jobs-running']);
    const kept = await f.provider({ mode: 'pods', terminating: 'unhealthy' }).discover('jobs');
    expect(kept.map((i) => [i.id, i.healthy])).toEqual([
      ['jobs-running', true],
      ['jobs-stopping', false],
    ]);
  });

  it('reports a pod whose port cannot be chosen', async () => {
    f.double.applyPod({ name: 'multi-1', labels: { app: 'multi' }, ip: '10.12.0.1', ports: [{ name: 'a', containerPort: 1 }, { name: 'b', containerPort: 2 }] });
    const provider = f.provider({ mode: 'pods' });
    const events: ProviderEvent[] = [];
    provider.onEvent((e) => events.push(e));
    expect(await provider.discover('multi')).toEqual([]);
    expect(events.map((e) => e.message)).toEqual(['skipped invalid record default/multi-1: the pod has several ports (a:1, b:2): set the port option (K8S_PORT) to a name or number']);
  });

  it('picks the pod IP of the wanted family from a dual-stack pod', async () => {
    f.double.applyPod({ name: 'dual-1', labels: { app: 'dual' }, ip: '10.13.0.1', ips: ['10.13.0.1', 'fd00::13:1'] });
    expect((await f.provider({ mode: 'pods', addressType: 'IPv6' }).discover('dual')).map((i) => i.address)).toEqual(['fd00::13:1']);
    expect((await f.provider({ mode: 'pods' }).discover('dual')).map((i) => i.address)).toEqual(['10.13.0.1']);
  });

  it('sees a pod deleted through the API terminate gracefully: terminating (deletionTimestamp) for its grace period, then gone', async () => {
    for (const name of ['pay-1', 'pay-2']) f.double.applyPod({ name, labels: { app: 'payments' }, ip: name === 'pay-1' ? '10.12.0.1' : '10.12.0.2', nodeName: 'node-a' });
    const recorder = new Recorder();
    const stop = f.provider({ mode: 'pods', terminating: 'unhealthy' }).watch('payments', recorder.listener);
    await waitFor(() => ids(recorder.last()).join() === 'pay-1,pay-2', { what: 'both pods' });
    const deleted = await f.double.request('/api/v1/namespaces/default/pods/pay-1', { method: 'DELETE', body: { gracePeriodSeconds: 1 } });
    expect(deleted.json()).toMatchObject({ metadata: { deletionTimestamp: expect.any(String), deletionGracePeriodSeconds: 1 } });
    // Still ready while it drains: kept, as unhealthy and marked terminating.
    await waitFor(() => recorder.last()?.find((i) => i.id === 'pay-1')?.metadata['k8s.terminating'] === 'true', { what: 'pay-1 terminating' });
    expect(recorder.last()!.find((i) => i.id === 'pay-1')!.healthy).toBe(false);
    await waitFor(() => ids(recorder.last()).join() === 'pay-2', { timeoutMs: 5_000, what: 'pay-1 gone after its grace period' });
    stop();
  });
});
