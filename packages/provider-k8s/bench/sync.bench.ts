// pnpm bench: a Service with 5,000 endpoints in 50 EndpointSlices, served by the Kubernetes
// API double. (1) Initial sync: a fresh provider's watch() until its first snapshot, next to
// the baseline of GETting the same list (HTTPS, a new connection, as the provider does) and JSON-parsing it. (2) One change (one endpoint
// flips readiness): write → listener snapshot, next to a raw watch stream receiving and
// parsing the same event. (3) A burst: all 50 slices rewritten at once. Same server, same
// run; printed as ratios.
// Needs dist/ of this package and of @disco/core and @disco/testing (`pnpm build` builds this one).
import { request } from 'node:https';
import { KubernetesApiDouble, makeTempDir, removeDir, type EndpointInit } from '@disco/testing';
import type { Instance } from '@disco/core';
import { kubernetesProvider } from '@disco/provider-k8s';

const slices = 50;
const perSlice = 100;
const service = 'big';
const runs = 15;
const changes = 60;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

const double = await new KubernetesApiDouble({ bookmarkIntervalMs: 60_000 }).start();
const dir = await makeTempDir('k8s-bench');
const kubeconfig = await double.writeKubeconfig(dir);
const endpoints = (s: number, notReady = -1): EndpointInit[] =>
  Array.from({ length: perSlice }, (_, i) => ({ address: `10.${s}.${i >> 8}.${i & 255}`, pod: `pod-${s}-${i}`, zone: `zone-${i % 3}`, nodeName: `node-${i % 20}`, ready: i !== notReady }));
for (let s = 0; s < slices; s++) double.applyEndpointSlice({ name: `${service}-${s}`, service, endpoints: endpoints(s) });

const listPath = `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`;

try {
  // --- 1. initial sync -------------------------------------------------------------------
  const raw: number[] = [];
  const synced: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    // The same HTTPS request (a new TLS connection, as the provider's list makes) and JSON.parse.
    const body = (await double.request(`${listPath}&limit=500`)).json<{ items: { endpoints: unknown[] }[] }>();
    raw.push(performance.now() - t);
    if (body.items.reduce((n, s) => n + s.endpoints.length, 0) !== slices * perSlice) throw new Error('baseline saw the wrong count');

    const provider = kubernetesProvider({ kubeconfig }, { env: {} });
    t = performance.now();
    await new Promise<void>((resolve) => {
      provider.watch(service, (event) => {
        if ('instances' in event && event.instances.length === slices * perSlice) resolve();
      });
    });
    synced.push(performance.now() - t);
    await provider.close();
  }
  const syncRatio = median(synced) / median(raw);
  console.log(`\ninitial sync of ${slices * perSlice} endpoints in ${slices} EndpointSlices (median of ${runs})`);
  console.log(`  baseline: GET the list + JSON.parse       ${fmt(median(raw)).padStart(10)}`);
  console.log(`  provider: watch() → first snapshot        ${fmt(median(synced)).padStart(10)}   ${syncRatio.toFixed(2)}× the baseline`);

  // --- 2. one change ---------------------------------------------------------------------
  const provider = kubernetesProvider({ kubeconfig }, { env: {} });
  let onSnapshot: ((instances: readonly Instance[]) => void) | undefined;
  provider.watch(service, (event) => {
    if ('instances' in event) onSnapshot?.(event.instances);
  });
  await new Promise<void>((resolve) => (onSnapshot = (i) => i.length === slices * perSlice && resolve()));

  // A raw watch stream on the same server, from the current resourceVersion.
  const controller = new AbortController();
  let onRawEvent: (() => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    const req = request(`${double.url}${listPath}&watch=true&resourceVersion=${double.store.revision}`, { ca: double.ca, agent: false, signal: controller.signal, headers: { authorization: `Bearer ${double.token}` } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          JSON.parse(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
          onRawEvent?.();
        }
      });
      res.on('error', () => {}); // aborted at the end
      resolve();
    });
    req.on('error', (error) => (controller.signal.aborted ? undefined : reject(error)));
    req.end();
  });

  const rawChange: number[] = [];
  const providerChange: number[] = [];
  for (let c = 0; c < changes; c++) {
    const s = Math.floor(c / 2) % slices; // even: endpoint 7 of slice s turns unready; odd: ready again
    const expected = slices * perSlice - (c % 2 === 0 ? 1 : 0);
    // Both listeners see the same write; each is timed from the write to its own arrival.
    const t = performance.now();
    const seenRaw = new Promise<number>((resolve) => (onRawEvent = () => resolve(performance.now() - t)));
    const seenProvider = new Promise<number>((resolve) => (onSnapshot = (i) => i.length === expected && resolve(performance.now() - t)));
    double.applyEndpointSlice({ name: `${service}-${s}`, service, endpoints: endpoints(s, c % 2 === 0 ? 7 : -1) });
    rawChange.push(await seenRaw);
    providerChange.push(await seenProvider);
    await new Promise((r) => setTimeout(r, 5));
    onRawEvent = undefined;
  }
  // --- 3. a burst: every slice changes at once (a rolling update) ---------------------------
  const burstRaw: number[] = [];
  const burstProvider: number[] = [];
  for (let b = 0; b < 10; b++) {
    let rawSeen = 0;
    const expected = b % 2 === 0 ? slices * perSlice - slices : slices * perSlice;
    const t = performance.now();
    const seenRaw = new Promise<number>((resolve) => (onRawEvent = () => ++rawSeen === slices && resolve(performance.now() - t)));
    const seenProvider = new Promise<number>((resolve) => (onSnapshot = (i) => i.length === expected && resolve(performance.now() - t)));
    for (let s = 0; s < slices; s++) double.applyEndpointSlice({ name: `${service}-${s}`, service, endpoints: endpoints(s, b % 2 === 0 ? 3 : -1) });
    burstRaw.push(await seenRaw);
    burstProvider.push(await seenProvider);
    await new Promise((r) => setTimeout(r, 20));
  }
  controller.abort();
  await provider.close();
  const changeRatio = median(providerChange) / median(rawChange);
  console.log(`\none change (one endpoint of ${slices * perSlice} flips readiness), write → delivered (median of ${changes})`);
  console.log(`  baseline: raw watch stream, event parsed  ${fmt(median(rawChange)).padStart(10)}`);
  console.log(`  provider: listener gets the new snapshot  ${fmt(median(providerChange)).padStart(10)}   ${changeRatio.toFixed(2)}× the baseline`);
  const burstRatio = median(burstProvider) / median(burstRaw);
  console.log(`\na burst: all ${slices} slices rewritten at once, writes → last delivered (median of 10)`);
  console.log(`  baseline: raw watch stream, ${slices} events parsed ${fmt(median(burstRaw)).padStart(9)}`);
  console.log(`  provider: listener gets the final snapshot ${fmt(median(burstProvider)).padStart(9)}   ${burstRatio.toFixed(2)}× the baseline`);
} finally {
  await double.stop();
  await removeDir(dir);
}
