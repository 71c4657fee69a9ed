import type { Command } from './command.js';
import { exitCodes } from './exit-codes.js';
import { flagVariables, globalOptions } from './options.js';

const exitCodeHelp: Record<keyof typeof exitCodes, string> = {
  ok: 'success',
  failure: 'failure',
  usage: 'bad flags or arguments',
  unreachable: 'backend unreachable or too slow (--timeout)',
  noInstances: 'the service has no (matching) instances',
  config: 'configuration wrong: a variable, credentials, TLS, a provider not installed',
  unsupported: 'the backend cannot do this (DNS cannot list services)',
  interrupted: 'interrupted (Ctrl-C) before finishing',
};

const globalHelp: Record<keyof typeof globalOptions, string> = {
  provider: 'static, etcd, consul, kubernetes (k8s), dns',
  static: 'instances for the static provider: users=10.0.0.1:8080,10.0.0.2:8080;orders=…',
  'etcd-endpoints': 'etcd endpoints, comma-separated',
  'etcd-prefix': 'the key prefix services live under',
  'consul-addr': 'the Consul agent, host:port or a URL',
  'consul-token': 'the Consul ACL token (prefer the variable: flags show in `ps`)',
  namespace: 'the Kubernetes namespace',
  'dns-server': 'the DNS server, host or host:port',
  set: 'any variable, VARIABLE=value (repeatable): --set ETCD_USERNAME=disco',
  timeout: 'how long to wait for the backend (default 10s)',
  json: 'machine-readable output',
  'no-color': 'no colour (also NO_COLOR=1; there is none when not on a terminal)',
  help: 'this help',
};

function flag(name: string, spec: { type: string; short?: string; multiple?: boolean }): string {
  const value = spec.type === 'string' ? ` <${name === 'set' ? 'VAR=value' : 'value'}>` : '';
  return `${spec.short ? `-${spec.short}, ` : '    '}--${name}${value}`;
}

function options(specs: Record<string, { type: string; short?: string; multiple?: boolean }>, help: Record<string, string>): string {
  const entries = Object.entries(specs).map(([name, spec]) => {
    const variable = (flagVariables as Record<string, string>)[name];
    return [flag(name, spec), `${help[name] ?? ''}${variable ? ` (${variable})` : ''}`] as const;
  });
  const width = Math.max(...entries.map(([f]) => f.length));
  return entries.map(([f, h]) => `  ${f.padEnd(width)}  ${h}\n`).join('');
}

export function mainHelp(commands: readonly Command[]): string {
  const short = (c: Command) => c.synopsis.split(' --')[0]!;
  const width = Math.max(...commands.map((c) => short(c).length));
  const codes = Object.entries(exitCodes).map(([k, v]) => `  ${String(v).padStart(3)}  ${exitCodeHelp[k as keyof typeof exitCodes]}\n`).join('');
  return [
    'disco — service discovery from the command line, for every disco backend\n',
    '\nusage: disco <command> [options]\n',
    '\ncommands:\n',
    ...commands.map((c) => `  ${short(c).padEnd(width)}  ${c.summary}\n`),
    '\nconfiguration: the same variables as an application (DISCOVERY_PROVIDER, ETCD_ENDPOINTS,\nCONSUL_HTTP_ADDR, K8S_NAMESPACE, DNS_SERVER, …); a flag wins over its variable.\n',
    '\noptions of every command:\n',
    options(globalOptions, globalHelp),
    '\nexit codes:\n',
    codes,
    '\n`disco <command> --help` shows a command’s own options.\n',
  ].join('');
}

export function commandHelp(command: Command): string {
  const own = Object.keys(command.options).length > 0 ? `\noptions:\n${options(command.options as Record<string, { type: string }>, command.optionHelp as Record<string, string>)}` : '';
  return `usage: disco ${command.synopsis} [options]\n\n${command.summary}\n${own}\noptions of every command: see \`disco --help\`\n`;
}
