#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { run } from './run.js';

// Deprecation warnings from backend clients (grpc-js, under etcd3, sets an IP as the TLS server
// name: DEP0123) are for those clients' developers, not for someone running disco.
process.noDeprecation = true;

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// Ctrl-C (or SIGTERM) asks the running command to finish: `watch` closes its Discovery and
// exits 0; a second Ctrl-C exits at once.
const interrupt = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupt.signal.aborted) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }, { interrupted: interrupt.signal, version });
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
// Everything is closed by now and the process ends by itself; a backend client that keeps a
// socket open past that must not keep the command from returning.
setTimeout(() => process.exit(), 2_000).unref();
