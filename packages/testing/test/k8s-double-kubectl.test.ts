// kubectl itself against the Kubernetes API double, with nothing but the kubeconfig the double
// writes (no flags, no --validate=false, no --insecure-skip-tls-verify): the double is only as
// good as the real clients that can use it. kubectl comes from Debian's kubernetes-client
// package at /usr/bin/kubectl (./run setup installs it); DISCO_KUBECTL names another binary.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesApiDouble, makeTempDir, removeDir, waitFor } from '../src/index.js';

const run = promisify(execFile);
const kubectlPath = process.env.DISCO_KUBECTL ?? '/usr/bin/kubectl';

describe('kubectl against the Kubernetes API double', () => {
  const double = new KubernetesApiDouble({ bookmarkIntervalMs: 60_000 });
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    if (!existsSync(kubectlPath)) {
      throw new Error(`kubectl is not at ${kubectlPath}: install Debian's kubernetes-client package (./run setup does), or set DISCO_KUBECTL`);
    }
    await double.start();
    dir = await makeTempDir('kubectl');
    // HOME holds kubectl's discovery cache: a fresh one per run, so every run reads discovery.
    env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: await double.writeKubeconfig(dir) };
  });
  afterAll(async () => {
    for (const child of children) child.kill();
    await double.stop();
    await removeDir(dir);
  });

  async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(kubectlPath, args, { env, timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** `kubectl get ... -w`, its output collected line by line until it is stopped. */
  function watch(...args: string[]) {
    const child = spawn(kubectlPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const lines: string[] = [];
    let errors = '';
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      lines.push(...parts.filter((l) => l.trim() !== ''));
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      lines,
      errors: () => errors,
      stop: async () => {
        child.kill();
        await exited;
        children.delete(child);
      },
    };
  }

  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const slice = (name: string, address: string, extra = '') =>
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${name}\n  labels:\n    kubernetes.io/service-name: web\n${extra}addressType: IPv4\nports:\n- name: http\n  port: 80\nendpoints:\n- addresses: ["${address}"]\n  conditions:\n    ready: true\n`;
  const requests = (since: number) => double.requests.filter((r) => r.at >= since);

  it('reads discovery and OpenAPI, and answers get with nothing there yet', async () => {
    const since = performance.now();
    const version = await kubectl('version');
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/Server Version.*v1\.30\.0/);
    const get = await kubectl('get', 'endpointslices');
    expect(get).toMatchObject({ code: 0, stdout: '' });
    expect(get.stderr).toContain('No resources found in default namespace.');
    const paths = requests(since).map((r) => r.path);
    expect(paths).toEqual(expect.arrayContaining(['/version', '/api', '/apis', '/apis/discovery.k8s.io/v1']));
  });

  it('creates (validated against OpenAPI and by the server), then gets', async () => {
    const created = await kubectl('create', '-f', await file('web-a.yaml', slice('web-a', '10.0.0.1')));
    expect(created).toMatchObject({ code: 0, stdout: 'endpointslice.discovery.k8s.io/web-a created\n' });
    const got = await kubectl('get', 'endpointslice', 'web-a', '-o', 'jsonpath={.endpoints[0].addresses[0]} {.ports[0].protocol} {.metadata.uid}');
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^10\.0\.0\.1 TCP [0-9a-f-]{36}$/);
    // kubectl's own validation reads the OpenAPI document: an unknown field never leaves it.
    const unknown = await kubectl('create', '-f', await file('bogus.yaml', slice('web-x', '10.0.0.9').replace('addressType', 'bogus: 1\naddressType')));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown field "bogus"');
    // The server's validation: 422 Invalid with the field.
    const invalid = await kubectl('create', '-f', await file('empty.yaml', slice('web-y', '10.0.0.9').replace('- addresses: ["10.0.0.9"]', '- addresses: []')));
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('The EndpointSlice "web-y" is invalid: endpoints[0].addresses: Required value: must contain at least 1 address');
    // NamespaceLifecycle: no objects in a namespace that does not exist.
    const nowhere = await kubectl('create', '-n', 'nowhere', '-f', await file('nowhere.yaml', slice('web-z', '10.0.0.9')));
    expect(nowhere.stderr).toContain('namespaces "nowhere" not found');
  });

  it('applies: creates with the last-applied annotation, then patches a change', async () => {
    const path = await file('web-b.yaml', slice('web-b', '10.0.0.2'));
    expect(await kubectl('apply', '-f', path)).toMatchObject({ code: 0, stdout: 'endpointslice.discovery.k8s.io/web-b created\n' });
    const since = performance.now();
    await writeFile(path, slice('web-b', '10.0.0.3', '  annotations:\n    team: blue\n'));
    expect(await kubectl('apply', '-f', path)).toMatchObject({ code: 0, stdout: 'endpointslice.discovery.k8s.io/web-b configured\n' });
    expect(requests(since).filter((r) => r.method === 'PATCH')).toHaveLength(1);
    const got = await kubectl('get', 'endpointslice', 'web-b', '-o', 'json');
    const object = JSON.parse(got.stdout) as { endpoints: { addresses: string[] }[]; metadata: { annotations: Record<string, string> } };
    expect(object.endpoints[0]!.addresses).toEqual(['10.0.0.3']);
    expect(object.metadata.annotations.team).toBe('blue');
    expect(JSON.parse(object.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']!)).toMatchObject({ endpoints: [{ addresses: ['10.0.0.3'] }] });
    // A pod: kubectl apply sends a strategic merge patch (containers merged by name).
    const pod = (image: string, extra = '') =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-pod\n  labels:\n    app: web\n${extra}spec:\n  nodeName: node-1\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: app\n    image: ${image}\n    ports:\n    - containerPort: 8080\n`;
    const podPath = await file('pod.yaml', pod('example/app:1'));
    expect((await kubectl('apply', '-f', podPath)).stdout).toBe('pod/web-pod created\n');
    await writeFile(podPath, pod('example/app:2', '    tier: front\n'));
    const before = performance.now();
    expect((await kubectl('apply', '-f', podPath)).stdout).toBe('pod/web-pod configured\n');
    expect(requests(before).find((r) => r.method === 'PATCH')).toBeDefined();
    const image = await kubectl('get', 'pod', 'web-pod', '-o', 'jsonpath={.spec.containers[0].image} {.metadata.labels.tier} {.status.phase}');
    expect(image.stdout).toBe('example/app:2 front Pending');
  });

  it('replaces and labels', async () => {
    const replaced = await kubectl('replace', '-f', await file('web-a2.yaml', slice('web-a', '10.0.0.11')));
    expect(replaced).toMatchObject({ code: 0, stdout: 'endpointslice.discovery.k8s.io/web-a replaced\n' });
    const labelled = await kubectl('label', 'endpointslice', 'web-a', 'zone=a');
    expect(labelled).toMatchObject({ code: 0, stdout: 'endpointslice.discovery.k8s.io/web-a labeled\n' });
    const got = await kubectl('get', 'endpointslices', '-l', 'zone=a', '-o', 'name');
    expect(got.stdout).toBe('endpointslice.discovery.k8s.io/web-a\n');
    expect((await kubectl('get', 'endpointslice', 'web-a', '-o', 'jsonpath={.endpoints[0].addresses[0]}')).stdout).toBe('10.0.0.11');
  });

  it('pages with --chunk-size', async () => {
    for (let i = 0; i < 5; i++) double.applyEndpointSlice({ name: `chunk-${i}`, service: 'chunked', endpoints: [{ address: `10.1.0.${i + 1}` }] });
    const since = performance.now();
    const got = await kubectl('get', 'endpointslices', '-l', 'kubernetes.io/service-name=chunked', '--chunk-size=2', '-o', 'name');
    expect(got.stdout.trim().split('\n')).toEqual([0, 1, 2, 3, 4].map((i) => `endpointslice.discovery.k8s.io/chunk-${i}`));
    const lists = requests(since).filter((r) => r.resource === 'endpointslices' && r.method === 'GET');
    expect(lists.map((r) => r.query.limit)).toEqual(['2', '2', '2']);
    expect(lists.filter((r) => r.query.continue !== undefined)).toHaveLength(2);
  });

  it('watches with get -w while an object changes, and a field-selected watch sees only its object', async () => {
    const all = watch('get', 'endpointslices', '-w', '-o', 'name');
    const one = watch('get', 'endpointslices', '--field-selector', 'metadata.name=web-b', '-w', '-o', 'jsonpath={.metadata.name} {.endpoints[0].addresses[0]}{"\\n"}');
    await waitFor(() => all.lines.length >= 2 && one.lines.length >= 1, { timeoutMs: 15_000, what: 'both watches to print their lists' });
    await waitFor(() => double.openWatches('endpointslices') === 2, { timeoutMs: 15_000, what: 'both watches open' });
    double.applyEndpointSlice({ name: 'web-a', service: 'web', endpoints: [{ address: '10.0.0.21' }] });
    double.applyEndpointSlice({ name: 'web-b', service: 'web', endpoints: [{ address: '10.0.0.22' }] });
    await waitFor(() => one.lines.includes('web-b 10.0.0.22'), { timeoutMs: 15_000, what: 'the field-selected watch to see web-b change' });
    await waitFor(() => all.lines.filter((l) => l === 'endpointslice.discovery.k8s.io/web-a').length >= 2, { timeoutMs: 15_000, what: 'get -w to print web-a again' });
    expect(one.lines.every((l) => l.startsWith('web-b '))).toBe(true);
    const watches = double.requests.filter((r) => r.watch && r.query.fieldSelector !== undefined);
    expect(watches.map((r) => r.query.fieldSelector)).toContain('metadata.name=web-b');
    await all.stop();
    await one.stop();
    expect(all.errors()).toBe('');
  });

  it('deletes, waiting for the object to vanish through a field-selected watch; a pod terminates gracefully first', async () => {
    const since = performance.now();
    const deleted = await kubectl('delete', 'endpointslice', 'web-a');
    expect(deleted).toMatchObject({ code: 0, stdout: 'endpointslice.discovery.k8s.io "web-a" deleted\n' });
    expect((await kubectl('get', 'endpointslice', 'web-a')).stderr).toContain('endpointslices.discovery.k8s.io "web-a" not found');
    // The pod is scheduled, so it terminates for its grace period (1 s) before it is gone; kubectl waits.
    const started = performance.now();
    const pod = await kubectl('delete', 'pod', 'web-pod');
    expect(pod).toMatchObject({ code: 0, stdout: 'pod "web-pod" deleted\n' });
    expect(performance.now() - started).toBeGreaterThan(900);
    expect(requests(since).some((r) => r.watch && r.query.fieldSelector === 'metadata.name=web-pod')).toBe(true);
    expect(double.store.get('pods', 'default', 'web-pod')).toBeUndefined();
  });
});
