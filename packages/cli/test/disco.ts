import { runScript, startScript, type RunningScript, type ScriptResult } from '@disco/testing';
import { fileURLToPath } from 'node:url';

/** The built binary, as `npm i -g @disco/cli` would run it. */
export const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** None of the developer's own backend settings may leak into a test's run. */
function cleanEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const clean: Record<string, string | undefined> = {};
  for (const name of Object.keys(process.env)) if (/^(DISCOVERY|ETCD|CONSUL|K8S|DNS)_|^(KUBECONFIG|NO_COLOR|FORCE_COLOR)$/.test(name)) clean[name] = undefined;
  return { ...clean, ...env };
}

/** Runs `disco <args>` as a child process with these variables and resolves with how it ended. */
export function disco(args: readonly string[], env: Record<string, string | undefined> = {}, timeoutMs = 20_000): Promise<ScriptResult> {
  return runScript(bin, { args, env: cleanEnv(env), timeoutMs });
}

/** Starts `disco <args>` for a test that reads its output while it runs and signals it. */
export function startDisco(args: readonly string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): RunningScript {
  return startScript(bin, { args, env: cleanEnv(env), timeoutMs });
}
