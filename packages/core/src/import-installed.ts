import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Imports a package the application installed (a provider, `@disco/balancers`) although core
 * declares no dependency on it.
 *
 * First Node's own resolution from core's location: it honours loader hooks and bundler or test
 * aliases, and sees the application's packages in npm's hoisted layout and in a pnpm project
 * (core's virtual-store folder lies under the app's node_modules). Where core's location sees
 * none of them — an app in a pnpm workspace with hoisting off, pnpm's global virtual store, npm
 * nesting the package under the app — it resolves from the application: the entry script's
 * folder, then the working directory.
 *
 * A package missing everywhere rethrows the first `ERR_MODULE_NOT_FOUND`; any other failure
 * (say, the package's own dependency is missing) is thrown as it is.
 */
export async function importInstalled(name: string): Promise<unknown> {
  try {
    return await import(/* @vite-ignore */ name);
  } catch (error) {
    if (!namesMissingPackage(error, name)) throw error;
    const file = resolveFromApplication(name);
    if (file === undefined) throw error;
    return import(pathToFileURL(file).href);
  }
}

/** Whether an import failed because `name` itself (not something it imports) was not found. */
export function namesMissingPackage(error: unknown, name: string): boolean {
  return (error as { code?: string } | null)?.code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`);
}

function resolveFromApplication(name: string): string | undefined {
  for (const base of applicationDirs()) {
    // The node_modules folders an ESM import from `base` would look in: no NODE_PATH, no global folders.
    for (let dir = base; ; dir = dirname(dir)) {
      const manifest = join(dir, 'node_modules', name, 'package.json');
      if (basename(dir) !== 'node_modules' && existsSync(manifest)) {
        // Resolved from inside the package, by its own name, through its exports map (CommonJS
        // resolution: import.meta.resolve takes no parent without a flag; disco packages export
        // `default`, which both resolvers accept).
        return createRequire(manifest).resolve(name);
      }
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

function applicationDirs(): string[] {
  const dirs: string[] = [];
  const entry = process.argv[1];
  if (entry) {
    try {
      dirs.push(dirname(realpathSync(entry))); // Node resolves the entry script's imports from its real path too
    } catch {
      // `node -e`, a REPL, or an entry that is not a file
    }
  }
  dirs.push(process.cwd());
  return dirs;
}
