import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from './command.js';

export type PackageManager = 'npm' | 'pnpm';

/** What the app's program prints: the instance it picked, the gRPC channel's state, and the disco versions it sees. */
export interface AppReport {
  picked: string;
  port: number;
  grpc: string;
  versions: Record<string, string>;
}

/**
 * A fresh application that installs disco from the local registry (and everything else from the
 * public one) the way a user does, with npm (hoisted node_modules) or pnpm. The pnpm app is a
 * project inside a pnpm workspace with hoisting off: core's own folder there sees none of the
 * app's packages, so a provider loaded by name must be looked up where the app installed it.
 */
export class TestApp {
  readonly manager: PackageManager;
  /** The folder holding the app's package.json and program. */
  readonly project: string;

  private constructor(manager: PackageManager, project: string) {
    this.manager = manager;
    this.project = project;
  }

  static create(manager: PackageManager, dir: string, registryUrl: string, program: string): TestApp {
    const project = manager === 'npm' ? dir : join(dir, 'service');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(dir, '.npmrc'), `@disco:registry=${new URL(registryUrl).href}\n`);
    if (manager === 'pnpm') {
      writeFileSync(join(dir, 'package.json'), '{ "name": "disco-pnpm-workspace", "private": true }\n');
      writeFileSync(
        join(dir, 'pnpm-workspace.yaml'),
        [
          'packages:',
          '  - service',
          '# No hidden node_modules/.pnpm/node_modules either: nothing outside service/ sees its packages.',
          'hoist: false',
          '# The local registry published these versions seconds ago.',
          'minimumReleaseAge: 0',
          '',
        ].join('\n'),
      );
    }
    writeFileSync(join(project, 'package.json'), `{ "name": "disco-${manager}-app", "private": true, "type": "module" }\n`);
    cpSync(program, join(project, 'main.mjs'));
    return new TestApp(manager, project);
  }

  /** Installs packages with the README's install line for this package manager. */
  async add(specs: readonly string[]): Promise<void> {
    if (this.manager === 'npm') await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-online', ...specs], { cwd: this.project, timeoutMs: 90_000 });
    else await mustRun('pnpm', ['add', '--allow-build=!protobufjs', ...specs], { cwd: this.project, timeoutMs: 90_000 });
  }

  /** `npm update` / `pnpm update`: every dependency to the newest version its range takes. */
  async update(): Promise<void> {
    if (this.manager === 'npm') await mustRun('npm', ['update', '--no-audit', '--no-fund', '--prefer-online'], { cwd: this.project, timeoutMs: 90_000 });
    else await mustRun('pnpm', ['update'], { cwd: this.project, timeoutMs: 90_000 });
  }

  /** Runs the app's program with `env` and returns what it reported. */
  async run(env: Record<string, string>): Promise<AppReport> {
    const { stdout } = await mustRun(process.execPath, ['main.mjs'], { cwd: this.project, env, timeoutMs: 30_000 });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(last) as AppReport;
    } catch {
      throw new Error(`the ${this.manager} app printed no report:\n${stdout}`);
    }
  }
}
