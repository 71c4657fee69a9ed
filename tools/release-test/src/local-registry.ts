import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, LaunchedProcess } from '@disco/testing';

/** What the registry serves for one published version (its package.json, as packed). */
export interface PublishedManifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  optionalDependencies?: Record<string, string>;
  dist: { tarball: string };
  [field: string]: unknown;
}

interface Packument {
  versions: Record<string, PublishedManifest>;
}

/**
 * A real npm registry (verdaccio) on a free loopback port, storing in a folder of its own and
 * with no uplink: it serves exactly what was published to it. Anyone may publish `@disco/*`
 * (any token will do), so the test needs no account.
 */
export class LocalRegistry {
  readonly url: string;
  readonly #server: LaunchedProcess;

  private constructor(url: string, server: LaunchedProcess) {
    this.url = url;
    this.#server = server;
  }

  static async start(dir: string): Promise<LocalRegistry> {
    mkdirSync(join(dir, 'storage'), { recursive: true });
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `storage: ${join(dir, 'storage')}`,
        `auth: { htpasswd: { file: ${join(dir, 'htpasswd')}, max_users: -1 } }`,
        'uplinks: {}',
        'packages:',
        "  '@disco/*': { access: $all, publish: $anonymous, unpublish: $anonymous }",
        'web: { enable: false }',
        'log: { type: stdout, format: pretty, level: warn }',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const bin = join(dirname(createRequire(import.meta.url).resolve('verdaccio/package.json')), 'bin/verdaccio');
    const server = new LaunchedProcess({
      name: 'verdaccio',
      command: process.execPath,
      args: [bin, '--config', config, '--listen', `127.0.0.1:${port}`],
      ready: async () => (await fetch(`${url}/-/ping`)).ok,
      readyTimeoutMs: 30_000,
    });
    await server.start();
    return new LocalRegistry(url, server);
  }

  /** Every version of `name` published here, oldest first; none when it never was. */
  async versions(name: string): Promise<string[]> {
    const packument = await this.#packument(name);
    return packument ? Object.keys(packument.versions) : [];
  }

  async manifest(name: string, version: string): Promise<PublishedManifest> {
    const manifest = (await this.#packument(name))?.versions[version];
    if (!manifest) throw new Error(`${name}@${version} is not published on ${this.url}`);
    return manifest;
  }

  /** The paths inside a published tarball, without tar's `package/` prefix. */
  async tarballFiles(name: string, version: string): Promise<string[]> {
    const response = await fetch((await this.manifest(name, version)).dist.tarball);
    if (!response.ok) throw new Error(`tarball of ${name}@${version}: HTTP ${response.status}`);
    const listing = spawnSync('tar', ['-tzf', '-'], { input: Buffer.from(await response.arrayBuffer()), encoding: 'utf8' });
    if (listing.status !== 0) throw new Error(`tar could not read ${name}@${version}: ${listing.stderr}`);
    return listing.stdout.split('\n').filter(Boolean).map((path) => path.replace(/^package\//, ''));
  }

  async stop(): Promise<void> {
    await this.#server.stop();
  }

  async #packument(name: string): Promise<Packument | undefined> {
    const response = await fetch(`${this.url}/${name.replace('/', '%2f')}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${name} on ${this.url}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as Packument;
  }
}
