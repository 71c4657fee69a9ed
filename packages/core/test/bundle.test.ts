import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('../', import.meta.url));

it('an app importing only @disco/core bundles to core code alone, within the size budget, and runs', async () => {
  const result = await build({
    entryPoints: [join(packageDir, 'test/fixtures/bundle-app.ts')],
    bundle: true, minify: true, platform: 'node', format: 'esm', target: 'node22', write: false, metafile: true, logLevel: 'silent',
    // Resolve @disco/core as an app would (its published dist), not through the workspace's tsconfig paths.
    tsconfigRaw: '{}',
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(packageDir, join(process.cwd(), p)));
  const foreign = inputs.filter((p) => !p.startsWith('dist/') && !p.startsWith('test/fixtures/'));
  expect(foreign).toEqual([]);
  const bytes = result.outputFiles[0]!.contents.byteLength;
  console.log(`@disco/core bundle: ${(bytes / 1024).toFixed(1)} KB minified (${inputs.length - 1} modules)`);
  // ~26 KB before core took over the watch engine, the checks of every input and the
  // diagnostics channels (now ~43 KB). The budget catches growth beyond that.
  expect(bytes).toBeLessThan(46 * 1024);

  const dir = mkdtempSync(join(tmpdir(), 'disco-bundle-'));
  try {
    writeFileSync(join(dir, 'app.mjs'), result.outputFiles[0]!.contents);
    const run = spawnSync(process.execPath, [join(dir, 'app.mjs')], { encoding: 'utf8', timeout: 10_000 });
    expect(run.stdout.trim()).toBe('8080');
    expect(run.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
