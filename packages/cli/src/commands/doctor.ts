import { isDiscoveryError, type Discovery } from '@disco/core';
import { backendFacts, isSecretVariable, tlsEndpoints } from '../backends.js';
import { defineCommand } from '../command.js';
import type { Context } from '../context.js';
import { exitCodeFor, exitCodes, type ExitCode } from '../exit-codes.js';
import { checkTls } from '../tls-check.js';

/**
 * Checks, in order, what a disco process needs: a valid configuration, the provider package,
 * TLS to the backend, the backend answering, and the credentials being accepted. Each failure
 * names the variable to fix; the exit code is the first failure's.
 */
export const doctorCommand = defineCommand({
  name: 'doctor',
  synopsis: 'doctor',
  summary: 'check the configuration, the provider package, TLS, reaching the backend and the credentials; say which variable to fix',
  options: {},
  optionHelp: {},
  maxPositionals: 0,
  async run(context) {
    const report = new Report(context);
    let config;
    try {
      config = context.config();
    } catch (error) {
      return report.fail('configuration', error);
    }
    const provider = typeof config.provider === 'string' ? config.provider : 'static';
    const facts = backendFacts[provider] ?? backendFacts.static!;
    report.ok('configuration', `provider ${provider}; ${describeVariables(context.env, facts.prefix)}`);
    const discovery = context.discovery();
    try {
      try {
        await context.within('loading the provider', () => discovery.provider());
      } catch (error) {
        return report.fail('provider', error);
      }
      report.ok('provider', `${provider} loaded`);
      for (const url of tlsEndpoints(provider, context.env)) {
        let tls;
        try {
          tls = await checkTls(url, facts.ca, context.env, context.timeoutMs);
        } catch (error) {
          return report.fail('tls', error);
        }
        if (!tls.ok) return report.failWith('tls', `${tls.endpoint}: ${tls.detail}`, exitCodes.config, facts.ca);
        report.ok('tls', `${tls.endpoint}: ${tls.detail}, handshake ${tls.latencyMs!.toFixed(1)} ms`);
      }
      const where = context.env[facts.address]?.trim() || facts.defaultAddress || '(unset)';
      const reached = await reach(context, discovery, provider);
      if (!reached.ok) {
        const { error } = reached;
        const code = exitCodeFor(error);
        const variable = isDiscoveryError(error, 'ERR_CONFIG') ? ((error as { variable?: string }).variable ?? facts.credentials[0]) : facts.address;
        const what = code === exitCodes.config ? 'credentials' : 'backend';
        return report.failWith(what, `${provider} at ${where}: ${(error as Error).message}`, code, variable);
      }
      report.ok('backend', `${provider} at ${where} answered in ${reached.latencyMs.toFixed(1)} ms${reached.detail}`);
      const set = facts.credentials.filter((v) => v !== 'KUBECONFIG' && context.env[v]);
      if (set.length > 0) report.ok('credentials', `accepted (${set.join(', ')})`);
      else if (facts.credentials.length > 0 && facts.credentials[0] !== 'KUBECONFIG') report.note('credentials', `none set (${facts.credentials.join(', ')}); the backend allowed anonymous access`);
      return exitCodes.ok;
    } finally {
      await discovery.close();
    }
  },
});

/** Lists the services where the backend can (which needs read access), else reads one service. */
async function reach(context: Context, discovery: Discovery, provider: string): Promise<{ ok: true; latencyMs: number; detail: string } | { ok: false; error: unknown }> {
  const started = performance.now();
  try {
    const names = await context.within(`asking ${provider}`, (signal) => discovery.listServices({ signal }));
    return { ok: true, latencyMs: performance.now() - started, detail: `; ${names.length} service(s) visible` };
  } catch (error) {
    if (!isDiscoveryError(error, 'ERR_UNSUPPORTED')) return { ok: false, error };
  }
  const probe = context.env.DISCOVERY_SERVICE_NAME?.trim() || 'disco-doctor';
  const again = performance.now();
  try {
    const instances = await context.within(`asking ${provider}`, (signal) => discovery.discover(probe, { healthyOnly: false, signal }));
    return { ok: true, latencyMs: performance.now() - again, detail: `; "${probe}" has ${instances.length} instance(s)` };
  } catch (error) {
    return { ok: false, error };
  }
}

/** `NAME=value` for the variables in effect, secrets shown only as set. */
function describeVariables(env: Readonly<Record<string, string | undefined>>, prefix: string): string {
  const names = Object.keys(env)
    .filter((name) => (name.startsWith(prefix) || name.startsWith('DISCOVERY_') || name === 'KUBECONFIG') && env[name]?.trim())
    .sort();
  if (names.length === 0) return 'no variables set (defaults)';
  return names.map((name) => (isSecretVariable(name) ? `${name}=(set, hidden)` : `${name}=${env[name]}`)).join(' ');
}

class Report {
  readonly #context: Context;

  constructor(context: Context) {
    this.#context = context;
  }

  ok(check: string, detail: string): void {
    this.#line(this.#context.style.green('✓'), check, detail);
  }

  note(check: string, detail: string): void {
    this.#line(this.#context.style.dim('-'), check, detail);
  }

  fail(check: string, error: unknown): ExitCode {
    const variable = isDiscoveryError(error, 'ERR_CONFIG') ? (error as { variable?: string }).variable : undefined;
    return this.failWith(check, error instanceof Error ? error.message : String(error), exitCodeFor(error), variable);
  }

  failWith(check: string, detail: string, code: ExitCode, variable: string | undefined): ExitCode {
    this.#line(this.#context.style.red('✗'), check, detail);
    if (variable && /^[A-Z][A-Z0-9_]*$/.test(variable)) this.#context.out(`  fix: ${this.#context.style.bold(variable)}\n`);
    return code;
  }

  #line(mark: string, check: string, detail: string): void {
    this.#context.out(`${mark} ${check.padEnd(13)} ${detail}\n`);
  }
}
