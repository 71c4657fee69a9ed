import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDiscovery, isDiscoveryError } from '@disco/core';
import { makeTempDir, removeDir, waitFor } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider, environmentVariables, kubernetesProvider, optionsFromEnv } from '../src/index.js';
import { startDouble, type DoubleFixture } from './helpers.js';

let f: DoubleFixture;
let dir: string;
beforeAll(async () => {
  f = await startDouble();
  dir = await makeTempDir('k8s-options');
});
afterAll(async () => {
  await f.close();
  await removeDir(dir);
});

function configError(run: () => unknown) {
  try {
    run();
  } catch (error) {
    expect(isDiscoveryError(error, 'ERR_CONFIG')).toBe(true);
    return error as Error & { variable?: string };
  }
  throw new Error('expected ERR_CONFIG');
}

describe('configuration', () => {
  it('reads K8S_NAMESPACE, K8S_LABEL_SELECTOR, K8S_IN_CLUSTER, KUBECONFIG, K8S_CONTEXT and K8S_PORT', () => {
    expect(optionsFromEnv({ K8S_NAMESPACE: 'production', K8S_LABEL_SELECTOR: 'app={service}', K8S_IN_CLUSTER: 'false', KUBECONFIG: '/k', K8S_CONTEXT: 'prod', K8S_PORT: '8080' })).toEqual({
      namespace: 'production',
      labelSelector: 'app={service}',
      inCluster: false,
      kubeconfig: '/k',
      context: 'prod',
      port: 8080,
    });
    expect(optionsFromEnv({ K8S_PORT: 'http', K8S_IN_CLUSTER: 'true' })).toEqual({ port: 'http', inCluster: true });
    expect(optionsFromEnv({})).toEqual({});
  });

  it('names the variable and the value that are wrong', () => {
    expect(configError(() => optionsFromEnv({ K8S_IN_CLUSTER: 'maybe' })).message).toBe('K8S_IN_CLUSTER must be true or false; got "maybe"');
    const ns = configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: { K8S_NAMESPACE: 'Prod_1' } }));
    expect(ns.variable).toBe('K8S_NAMESPACE');
    expect(ns.message).toMatch(/"Prod_1"/);
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, port: 70_000 })).message).toMatch(/port must be a port name .* got 70000/);
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, mode: 'services' as never })).message).toBe('mode must be one of endpointslices, pods; got "services"');
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, terminating: 'keep' as never })).message).toMatch(/terminating must be one of exclude, unhealthy, fallback/);
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, watchTimeout: 'soon' })).message).toMatch(/watchTimeout must be a duration/);
  });

  it('says where it looked when there is no kubeconfig, and what to do', () => {
    const missing = join(dir, 'nope');
    const error = configError(() => kubernetesProvider({}, { env: { KUBECONFIG: missing } }));
    expect(error.message).toBe(`no kubeconfig found at ${missing}: set KUBECONFIG (or the kubeconfig option), or K8S_IN_CLUSTER=true when running in a pod`);
    const inCluster = configError(() => kubernetesProvider({ inCluster: true }, { env: {} }));
    expect(inCluster.message).toMatch(/K8S_IN_CLUSTER is true but this process is not in a pod: KUBERNETES_SERVICE_HOST is unset/);
  });

  it('picks a kubeconfig context, takes its namespace, and lists the contexts when the one named is missing', async () => {
    const path = join(dir, 'two-contexts');
    const config = JSON.parse(f.double.kubeconfig()) as { contexts: { name: string; context: Record<string, string> }[] };
    config.contexts.push({ name: 'staging', context: { cluster: 'disco-double', user: 'disco-double', namespace: 'staging' } });
    await writeFile(path, JSON.stringify(config));
    expect(kubernetesProvider({ kubeconfig: path }, { env: {} }).namespace).toBe('default');
    const staging = kubernetesProvider({ kubeconfig: path, context: 'staging' }, { env: {} });
    expect(staging.namespace).toBe('staging');
    expect(kubernetesProvider({ kubeconfig: path, context: 'staging', namespace: 'other' }, { env: {} }).namespace).toBe('other');
    f.double.applyEndpointSlice({ name: 'ctx', service: 'ctx', namespace: 'staging', endpoints: [{ address: '10.30.0.1', pod: 'in-staging' }] });
    expect((await staging.discover('ctx')).map((i) => i.id)).toEqual(['in-staging']);
    await staging.close();
    const error = configError(() => kubernetesProvider({ kubeconfig: path }, { env: { K8S_CONTEXT: 'prod' } }));
    expect(error.message).toBe(`context "prod" is not in kubeconfig ${path}; it has: disco-double, staging`);
  });

  it('is what createDiscovery({ provider: "kubernetes" }) loads, with object options over the environment', async () => {
    f.double.applyEndpointSlice({ name: 'loaded', service: 'loaded', namespace: 'team-a', endpoints: [{ address: '10.31.0.1', pod: 'l1' }] });
    const discovery = createDiscovery({ provider: 'kubernetes', kubernetes: { kubeconfig: f.kubeconfig }, env: { K8S_NAMESPACE: 'team-a' } });
    expect((await discovery.discover('loaded')).map((i) => i.id)).toEqual(['l1']);
    await discovery.close();
    const provider = createProvider({ namespace: 'team-b' }, { logger: console, env: { KUBECONFIG: f.kubeconfig, K8S_NAMESPACE: 'team-a' } });
    expect(provider.namespace).toBe('team-b');
    await provider.close();
    // An option passed as undefined does not hide the environment's value.
    expect(kubernetesProvider({ kubeconfig: f.kubeconfig, namespace: undefined }, { env: { K8S_NAMESPACE: 'team-c' } }).namespace).toBe('team-c');
  });
});

describe('one provider shape (issue 11, item 9)', () => {
  it('has a variable for every option but the logger', () => {
    const env = {
      K8S_MODE: 'pods',
      K8S_UNREADY: 'unhealthy',
      K8S_TERMINATING: 'fallback',
      K8S_ADDRESS_TYPE: 'IPv6',
      K8S_WATCH_TIMEOUT: '10m',
      K8S_WATCH_GRACE: '5s',
      K8S_PAGE_SIZE: '50',
      K8S_BACKOFF_INITIAL: '1s',
      K8S_BACKOFF_MAX: '1m',
    };
    expect(optionsFromEnv(env)).toEqual({ mode: 'pods', unready: 'unhealthy', terminating: 'fallback', addressType: 'IPv6', watchTimeout: '10m', watchGrace: '5s', pageSize: 50, backoff: { initial: '1s', max: '1m' } });
    const keys = Object.keys(environmentVariables).map((k) => k.split('.')[0]);
    for (const option of ['mode', 'namespace', 'labelSelector', 'inCluster', 'kubeconfig', 'context', 'port', 'unready', 'terminating', 'addressType', 'watchTimeout', 'watchGrace', 'pageSize', 'backoff']) expect(keys).toContain(option);
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: { K8S_MODE: 'services' } }))).toMatchObject({ variable: 'K8S_MODE', message: 'K8S_MODE must be one of endpointslices, pods; got "services"' });
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: { K8S_PAGE_SIZE: 'lots' } }))).toMatchObject({ variable: 'K8S_PAGE_SIZE' });
  });

  it('reads context.env, else process.env; a defined option wins over its variable', async () => {
    const before = process.env.K8S_NAMESPACE;
    process.env.K8S_NAMESPACE = 'from-process';
    try {
      expect(kubernetesProvider({ kubeconfig: f.kubeconfig }).namespace).toBe('from-process');
      expect(kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: { K8S_NAMESPACE: 'from-context' } }).namespace).toBe('from-context');
      expect(kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: {} }).namespace).toBe('default');
      expect(kubernetesProvider({ kubeconfig: f.kubeconfig, namespace: 'from-option' }, { env: { K8S_NAMESPACE: 'from-context' } }).namespace).toBe('from-option');
    } finally {
      if (before === undefined) delete process.env.K8S_NAMESPACE;
      else process.env.K8S_NAMESPACE = before;
    }
  });

  it('rejects an unknown option key, naming the nearest known one', () => {
    const error = configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, namespce: 'x' } as never, { env: {} }));
    expect(error.message).toMatch(/^unknown option "kubernetes\.namespce"; did you mean "namespace"\?/);
    expect(error.variable).toBe('kubernetes.namespce');
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, backoff: { intial: 5 } } as never, { env: {} })).message).toMatch(/unknown option "kubernetes\.backoff\.intial"; did you mean "initial"\?/);
  });

  it('rejects a watch timeout longer than a timer can wait (2^31-1 ms), from the option or its variable', () => {
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, watchTimeout: '1000h' }, { env: {} }))).toMatchObject({ variable: 'watchTimeout', message: expect.stringMatching(/watchTimeout must be at most 2147483647 ms/) as string });
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: { K8S_WATCH_TIMEOUT: '1000h' } }))).toMatchObject({ variable: 'K8S_WATCH_TIMEOUT' });
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: { K8S_WATCH_GRACE: '9'.repeat(400) } }))).toMatchObject({ variable: 'K8S_WATCH_GRACE' });
    expect(configError(() => kubernetesProvider({ kubeconfig: f.kubeconfig, watchTimeout: '500ms' }, { env: {} })).message).toMatch(/watchTimeout must be at least 1s/);
  });

  it('logs through options.logger, else context.logger', async () => {
    const lines: string[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: (_: unknown, message: string) => lines.push(message), error: () => {} };
    const provider = kubernetesProvider({ kubeconfig: f.kubeconfig, backoff: { initial: 20, max: 100 } }, { env: {}, logger: logger as never });
    f.double.failRequests(1, 503);
    const stop = provider.watch('logged', () => {});
    await waitFor(() => lines.length > 0, { what: 'the failure to be logged' });
    expect(lines[0]).toMatch(/kubernetes: watch of "logged" failed; serving the last snapshot: .*503/);
    stop();
    await provider.close();
  });

  it('close() and Symbol.asyncDispose release the provider', async () => {
    const provider = kubernetesProvider({ kubeconfig: f.kubeconfig }, { env: {} });
    await provider[Symbol.asyncDispose]();
    await expect(provider.discover('web')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});

describe('contract', () => {
  it('rejects register and deregister with ERR_UNSUPPORTED, explaining how pods join a Service', async () => {
    const provider = f.provider();
    const register = await provider.register({ id: 'x', name: 'web', address: '10.0.0.1', port: 80 }).then(() => new Error("resolved"), (e: unknown) => e as Error);
    expect(register).toMatchObject({ code: 'ERR_UNSUPPORTED' });
    expect(register.message).toMatch(/a pod joins a Service through its labels .* readiness probe/);
    const deregister = await provider.deregister("x").then(() => new Error("resolved"), (e: unknown) => e as Error);
    expect(deregister).toMatchObject({ code: 'ERR_UNSUPPORTED' });
    expect(deregister.message).toMatch(/Delete the pod, change its labels, or let its readiness probe fail/);
    expect(provider.capabilities).toEqual({ register: false, watch: true, serverHealthChecks: true });
  });

  it('rejects service names that are not label values (they would alter the selector)', async () => {
    const provider = f.provider();
    for (const name of ['web,app=other', 'a'.repeat(64), '-web', 'web service']) {
      await expect(provider.discover(name)).rejects.toMatchObject({ code: 'ERR_INVALID_SERVICE' });
      expect(() => provider.watch(name, () => {})).toThrow(/label value/);
    }
  });

  it('aborts an in-flight discover, and close() aborts what is still running', async () => {
    const provider = f.provider();
    const controller = new AbortController();
    const pending = provider.discover('web', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const late = provider.discover('web');
    await provider.close();
    await expect(late).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(() => provider.watch('web', () => {})).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }) as Error);
    await expect(provider.register({ id: 'x', name: 'web', address: '10.0.0.1', port: 80 })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
