import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { mustRun, runCommand } from './command.js';

export type Bump = 'patch' | 'minor' | 'major';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
}

const changesetBin = createRequire(import.meta.url).resolve('@changesets/cli/bin.js');
/** No progress animation in the output a failure shows. */
const quiet = { CI: 'true' };

/**
 * A copy of the monorepo's publishable packages in a folder of its own, where the release runs
 * as a maintainer runs it — `changeset version`, then `changeset publish` — against the local
 * registry, without touching the checkout. Packages are copied without `dist`, so each one is
 * built by its own prepack (the build guard) or ships no code. node_modules are borrowed from the
 * checkout, with every `@disco/*` link pointed at the copies, so versions come from the copies.
 */
export class ReleaseWorkspace {
  readonly dir: string;
  readonly #packageDirs: ReadonlyMap<string, string>;

  private constructor(dir: string, packageDirs: ReadonlyMap<string, string>) {
    this.dir = dir;
    this.#packageDirs = packageDirs;
  }

  static stage(checkout: string, dir: string, registryUrl: string): ReleaseWorkspace {
    mkdirSync(join(dir, '.changeset'), { recursive: true });
    for (const file of ['package.json', 'tsconfig.base.json', 'LICENSE', '.changeset/config.json']) cpSync(join(checkout, file), join(dir, file));
    // node_modules here are borrowed: pnpm must never install into them (as `pnpm run` would, to verify them).
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\nverifyDepsBeforeRun: false\n');
    const registry = new URL(registryUrl);
    // Only @disco/* goes to the local registry; any token will do there.
    writeFileSync(join(dir, '.npmrc'), `@disco:registry=${registry.href}\n//${registry.host}/:_authToken=release-test\n`);
    mirrorNodeModules(join(checkout, 'node_modules'), join(dir, 'node_modules'), join(checkout, 'packages'), join(dir, 'packages'));

    const packageDirs = new Map<string, string>();
    for (const entry of readdirSync(join(checkout, 'packages'))) {
      const source = join(checkout, 'packages', entry);
      if (!existsSync(join(source, 'package.json'))) continue;
      const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as Manifest;
      if (manifest.private) continue;
      const target = join(dir, 'packages', entry);
      cpSync(source, target, { recursive: true, filter: (path) => !['node_modules', 'dist', '.turbo'].includes(basename(path)) || dirname(path) !== source });
      packageDirs.set(manifest.name, target);
    }
    for (const [, target] of packageDirs) {
      const source = join(checkout, 'packages', basename(target));
      if (existsSync(join(source, 'node_modules'))) mirrorNodeModules(join(source, 'node_modules'), join(target, 'node_modules'), join(checkout, 'packages'), join(dir, 'packages'));
    }
    return new ReleaseWorkspace(dir, packageDirs);
  }

  /** The names of the packages a release publishes. */
  get packageNames(): string[] {
    return [...this.#packageDirs.keys()].sort();
  }

  /** What the copy's package.json of `name` says now, as text (to tell whether a release touched it). */
  manifestText(name: string): string {
    return readFileSync(join(this.#dir(name), 'package.json'), 'utf8');
  }

  version(name: string): string {
    return (JSON.parse(this.manifestText(name)) as Manifest).version;
  }

  versions(): Record<string, string> {
    return Object.fromEntries(this.packageNames.map((name) => [name, this.version(name)]));
  }

  changelog(name: string): string {
    return readFileSync(join(this.#dir(name), 'CHANGELOG.md'), 'utf8');
  }

  /** Writes a changeset, as `pnpm changeset` would. */
  addChangeset(id: string, releases: Record<string, Bump>, summary: string): void {
    const front = Object.entries(releases).map(([name, bump]) => `'${name}': ${bump}`);
    writeFileSync(join(this.dir, '.changeset', `${id}.md`), ['---', ...front, '---', '', summary, ''].join('\n'));
  }

  /** `changeset version`: applies the changesets to versions, ranges and changelogs. */
  async changesetVersion(): Promise<void> {
    await mustRun(process.execPath, [changesetBin, 'version'], { cwd: this.dir, env: quiet });
  }

  /** `changeset publish`: packs (prepack builds) and publishes every version the registry lacks. */
  async changesetPublish(): Promise<void> {
    const result = await runCommand(process.execPath, [changesetBin, 'publish', '--no-git-tag'], { cwd: this.dir, env: quiet, timeoutMs: 90_000 });
    if (result.code === 0) return;
    // changesets reports a failed prepack by its exit status only: rebuild those packages to show why.
    const failed = this.packageNames.filter((name) => new RegExp(`^${name}@\\S+$`, 'm').test(result.output.slice(result.output.indexOf('failed to publish'))));
    const builds = await Promise.all(failed.map((name) => runCommand('pnpm', ['run', 'build'], { cwd: this.#dir(name) })));
    throw new Error(`changeset publish exited ${result.code}:\n${result.output}\n${builds.map((build, i) => `${failed[i]} build:\n${build.output}`).join('\n')}`);
  }

  #dir(name: string): string {
    const dir = this.#packageDirs.get(name);
    if (!dir) throw new Error(`${name} is not a published package of this workspace`);
    return dir;
  }
}

/**
 * Recreates a node_modules folder from links: each package points where the checkout's points,
 * except links to the checkout's own packages, which point at their copies. pnpm's own files
 * (.pnpm, .modules.yaml, ...) stay behind, so nothing here can write into the checkout's.
 */
function mirrorNodeModules(from: string, to: string, packagesFrom: string, packagesTo: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    if (entry.startsWith('.') && entry !== '.bin') continue;
    if (entry.startsWith('@')) {
      mirrorNodeModules(join(from, entry), join(to, entry), packagesFrom, packagesTo);
      continue;
    }
    const real = realpathSync(join(from, entry));
    symlinkSync(dirname(real) === packagesFrom ? join(packagesTo, basename(real)) : real, join(to, entry));
  }
}
