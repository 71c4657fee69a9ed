import { rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript, type ScriptOptions, type ScriptResult } from './run-script.js';

/**
 * Runs the first ```ts block under `## <heading>` of a README as a script and resolves with how
 * it ended. The file is written into `dir` (a folder of the package under test, so its imports
 * resolve as they would in an app) and removed afterwards. READMEs are what users copy: a test
 * that runs them keeps them working as written.
 */
export async function runReadmeExample(readme: string | URL, heading: string, dir: string | URL, options?: ScriptOptions): Promise<ScriptResult> {
  const path = readme instanceof URL ? fileURLToPath(readme) : readme;
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  const end = text.indexOf('\n## ', start + 1);
  const section = start < 0 ? '' : text.slice(start, end < 0 ? undefined : end);
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined) throw new Error(`${path} has no \`\`\`ts block under "## ${heading}"`);
  const slug = heading.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const file = join(dir instanceof URL ? fileURLToPath(dir) : dir, `readme-${slug}.ts`);
  writeFileSync(file, code);
  try {
    return await runScript(file, options);
  } finally {
    rmSync(file, { force: true });
  }
}
