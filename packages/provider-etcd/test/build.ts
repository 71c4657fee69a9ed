import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Fixtures run in child processes on the built package: rebuild when a source file is newer than dist. */
export function ensureBuilt(): void {
  const newest = (dir: string) => Math.max(...readdirSync(dir).map((f) => statSync(`${dir}/${f}`).mtimeMs));
  let built = 0;
  try {
    built = statSync(`${root}dist/index.js`).mtimeMs;
  } catch {
    // not built yet
  }
  if (built < newest(`${root}src`)) execFileSync('pnpm', ['exec', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
