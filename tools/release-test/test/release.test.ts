import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdCluster, makeTempDir, removeDir } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRegistry } from '../src/local-registry.js';
import { ReleaseWorkspace } from '../src/release-workspace.js';
import { TestApp, type AppReport } from '../src/test-app.js';

// The whole release path, as a maintainer and as a user meet it: every package published to a
// real registry (verdaccio), installed into fresh npm and pnpm apps, then one package released at
// a time with changesets, checking that nothing else moves and that the apps keep updating and
// running against a real etcd. Each step depends on the one before; after a failure the rest skip.

const checkout = fileURLToPath(new URL('../../../', import.meta.url));
const program = fileURLToPath(new URL('./fixtures/service.mjs', import.meta.url));
const core = '@disco/core';
const provider = '@disco/provider-etcd';
const installed = [core, provider, '@disco/balancers', '@disco/grpc-resolver', 'etcd3', '@grpc/grpc-js'];

let tmp: string;
let registry: LocalRegistry | undefined;
let etcd: EtcdCluster | undefined;
let workspace: ReleaseWorkspace;
let apps: TestApp[] = [];
let failedStep: string | undefined;
let runs = 0;
const started = performance.now();

/** A test that runs only while every step before it passed. */
function step(name: string, timeoutMs: number, body: () => Promise<void>): void {
  it(name, async (context) => {
    if (failedStep) context.skip(`needs the step that failed: ${failedStep}`);
    try {
      await body();
    } catch (error) {
      failedStep = name;
      throw error;
    }
  }, timeoutMs);
}

/** Runs both apps' programs against etcd; each gets a prefix of its own. */
function runApps(): Promise<AppReport[]> {
  const endpoint = etcd!.members[0]!.clientUrl;
  return Promise.all(
    apps.map((app) => app.run({ DISCOVERY_PROVIDER: 'etcd', DISCOVERY_BALANCER: 'p2c', ETCD_ENDPOINTS: endpoint, ETCD_DISCOVERY_PREFIX: `/release-test/${++runs}/` })),
  );
}

function expectRan(reports: AppReport[], versions: Record<string, string>): void {
  for (const [i, report] of reports.entries()) {
    expect(report.picked, apps[i]!.manager).toBe(`127.0.0.1:${report.port}`);
    expect(report.grpc, apps[i]!.manager).toBe('ready');
    expect(report.versions, apps[i]!.manager).toMatchObject(versions);
  }
}

async function publishedVersions(): Promise<Record<string, string[]>> {
  return Object.fromEntries(await Promise.all(workspace.packageNames.map(async (name) => [name, await registry!.versions(name)] as const)));
}

function nextVersion(version: string, bump: 'minor' | 'patch'): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return bump === 'minor' ? `${major}.${minor + 1}.0` : `${major}.${minor}.${patch + 1}`;
}

/** Releases one package with changesets; nothing else may change in the workspace or on the registry. */
async function releaseOnly(name: string, bump: 'minor' | 'patch', summary: string): Promise<void> {
  const manifests = Object.fromEntries(workspace.packageNames.map((other) => [other, workspace.manifestText(other)]));
  const published = await publishedVersions();
  const from = workspace.version(name);
  workspace.addChangeset(`${name.replace('@disco/', '')}-${bump}`, { [name]: bump }, summary);
  await workspace.changesetVersion();
  expect(workspace.version(name)).toBe(nextVersion(from, bump));
  for (const other of workspace.packageNames) if (other !== name) expect(workspace.manifestText(other), `${other}'s package.json`).toBe(manifests[other]);
  expect(workspace.changelog(name)).toContain(summary);
  await workspace.changesetPublish();
  expect(await publishedVersions()).toEqual({ ...published, [name]: [...published[name]!, workspace.version(name)] });
}

beforeAll(async () => {
  tmp = makeTempDir('release');
  [registry, etcd] = await Promise.all([LocalRegistry.start(join(tmp, 'registry')), EtcdCluster.start()]);
  workspace = ReleaseWorkspace.stage(checkout, join(tmp, 'workspace'), registry.url);
}, 60_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), etcd?.stop()]);
  removeDir(tmp);
  console.log(`release test: ${((performance.now() - started) / 1000).toFixed(1)} s`);
});

describe('releasing to a real registry', () => {
  let initial: Record<string, string>;

  step('changeset publish builds and publishes every package at its current version, with LICENSE and CHANGELOG.md', 120_000, async () => {
    initial = workspace.versions();
    await workspace.changesetPublish();
    // dist/ is there only if prepack built it: the copy was staged without one.
    const required = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts'];
    const shipped = await Promise.all(
      workspace.packageNames.map(async (name) => {
        const files = await registry!.tarballFiles(name, initial[name]!);
        const manifest = JSON.stringify(await registry!.manifest(name, initial[name]!));
        return [name, { versions: await registry!.versions(name), missing: required.filter((file) => !files.includes(file)), workspaceRanges: manifest.includes('workspace:') }];
      }),
    );
    expect(Object.fromEntries(shipped)).toEqual(Object.fromEntries(workspace.packageNames.map((name) => [name, { versions: [initial[name]], missing: [], workspaceRanges: false }])));
  });

  step('the published @disco/core names no other disco package in any dependency field', 10_000, async () => {
    const manifest = await registry!.manifest(core, initial[core]!);
    const fields = Object.entries(manifest).filter(([field]) => /dependencies/i.test(field));
    expect(fields.filter(([, value]) => JSON.stringify(value).includes('@disco/'))).toEqual([]);
  });

  step('a fresh npm app and a fresh pnpm app install core, provider-etcd, balancers and grpc-resolver and run against etcd', 120_000, async () => {
    apps = [TestApp.create('npm', join(tmp, 'npm-app'), registry!.url, program), TestApp.create('pnpm', join(tmp, 'pnpm-app'), registry!.url, program)];
    await Promise.all(apps.map((app) => app.add(installed)));
    expectRan(await runApps(), { [core]: initial[core]!, [provider]: initial[provider]! });
  });

  step('releasing only @disco/provider-etcd (minor) changes and publishes that package alone', 60_000, async () => {
    await releaseOnly(provider, 'minor', 'A provider-only minor release.');
  });

  step('npm update and pnpm update still succeed and run; both apps then take the new provider with core unchanged', 120_000, async () => {
    await Promise.all(apps.map((app) => app.update()));
    expectRan(await runApps(), { [core]: initial[core]!, [provider]: initial[provider]! });
    await Promise.all(apps.map((app) => app.add([`${provider}@^${workspace.version(provider)}`])));
    expectRan(await runApps(), { [core]: initial[core]!, [provider]: workspace.version(provider) });
  });

  step('a core patch moves no other package, and npm update and pnpm update take it', 120_000, async () => {
    await releaseOnly(core, 'patch', 'A core patch release.');
    await Promise.all(apps.map((app) => app.update()));
    expectRan(await runApps(), { [core]: workspace.version(core), [provider]: workspace.version(provider) });
  });
});
