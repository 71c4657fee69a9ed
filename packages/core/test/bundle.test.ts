import { build, type BuildOptions } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsulDouble, EtcdCluster } from '@disco/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('../', import.meta.url));

/** Bundles a fixture as an application would: ESM for Node, minified, imports resolved to the packages' published dist. */
async function bundle(fixture: string, options: Pick<BuildOptions, 'external' | 'banner'> = {}) {
  return build({
    entryPoints: [join(packageDir, 'test/fixtures', fixture)],
    bundle: true, minify: true, platform: 'node', format: 'esm', target: 'node22', write: false, metafile: true, logLevel: 'silent',
    // Resolve @disco/* as an app would (their published dist), not through the workspace's tsconfig paths.
    tsconfigRaw: '{}',
    ...options,
  });
}

/** Runs a bundle from a folder that holds nothing else (but `node_modules`, when given), without blocking this process's servers. */
async function runInEmptyDir(code: Uint8Array, env: Record<string, string>, nodeModules: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'disco-bundle-'));
  try {
    writeFileSync(join(dir, 'app.mjs'), code);
    for (const [name, target] of Object.entries(nodeModules)) {
      mkdirSync(join(dir, 'node_modules'), { recursive: true });
      symlinkSync(target, join(dir, 'node_modules', name));
    }
    const childEnv = { ...process.env, ...env };
    delete childEnv.NODE_PATH; // set by pnpm's bin shims: the monorepo's packages, which the bundle must not need
    const child = spawn(process.execPath, [join(dir, 'app.mjs')], { cwd: dir, env: childEnv, timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { status, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('an app importing only @disco/core bundles to core code alone, within the size budget, and runs', async () => {
  const result = await bundle('bundle-app.ts');
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(packageDir, join(process.cwd(), p)));
  const foreign = inputs.filter((p) => !p.startsWith('dist/') && !p.startsWith('test/fixtures/'));
  expect(foreign).toEqual([]);
  const bytes = result.outputFiles[0]!.contents.byteLength;
  console.log(`@disco/core bundle: ${(bytes / 1024).toFixed(1)} KB minified (${inputs.length - 1} modules)`);
  // ~26 KB before core took over the watch engine, the checks of every input, the diagnostics
  // channels and loading providers from the application's folder (now ~44 KB). The budget catches growth beyond that.
  expect(bytes).toBeLessThan(48 * 1024);

  const run = await runInEmptyDir(result.outputFiles[0]!.contents, {});
  expect(run.stdout.trim()).toBe('8080');
  expect(run.status).toBe(0);
});

describe('a bundled app with its providers handed to core', () => {
  let code: Uint8Array;
  let etcd: EtcdCluster;
  let consul: ConsulDouble;
  // etcd3 reads its .proto files from its own folder at run time, so it stays outside the bundle
  // (the packages' READMEs say so); it is all the folder the bundle runs from holds.
  const etcd3 = { etcd3: realpathSync(join(packageDir, '../provider-etcd/node_modules/etcd3')) };

  beforeAll(async () => {
    const result = await bundle('bundle-providers-app.ts', {
      external: ['etcd3'],
      // CommonJS dependencies (undici, p-retry's, etcd3) call require(), which an ESM bundle must provide.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    });
    const output = Object.values(result.metafile.outputs)[0]!;
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    // Nothing of disco is left to load at run time: every import the bundle still makes is etcd3 or Node's own.
    expect(new Set(output.imports.filter((i) => i.external && !builtins.has(i.path)).map((i) => i.path))).toEqual(new Set(['etcd3']));
    code = result.outputFiles[0]!.contents;
    [etcd, consul] = await Promise.all([EtcdCluster.start(), ConsulDouble.start()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([etcd?.stop(), consul?.close()]);
  });

  it.each([
    ['etcd', () => ({ ETCD_ENDPOINTS: etcd.members[0]!.clientUrl, ETCD_DISCOVERY_PREFIX: '/bundle-test/' })],
    ['consul', () => ({ CONSUL_HTTP_ADDR: consul.address })],
  ])('DISCOVERY_PROVIDER=%s selects it at run time, from a folder without disco packages', async (provider, env) => {
    const run = await runInEmptyDir(code, { DISCOVERY_PROVIDER: provider, DISCOVERY_BALANCER: 'p2c', ...env() }, etcd3);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ provider, port: 8080 });
    expect(run.status).toBe(0);
  });

  it('a provider it did not bundle is ERR_PROVIDER_NOT_INSTALLED, naming the package to add', async () => {
    const run = await runInEmptyDir(code, { DISCOVERY_PROVIDER: 'dns' }, etcd3);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('ERR_PROVIDER_NOT_INSTALLED');
    expect(run.stderr).toContain('@disco/provider-dns');
  });
});
