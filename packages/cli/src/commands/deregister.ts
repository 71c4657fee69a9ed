import { UnsupportedError } from '@disco/core';
import { exitCodes } from '../exit-codes.js';
import { defineCommand } from '../command.js';
import { required } from '../options.js';
import { processBoundReason, registrationsOutliveProcess } from '../registration-lifetime.js';

export const deregisterCommand = defineCommand({
  name: 'deregister',
  synopsis: 'deregister <id>',
  summary: 'remove a registration by instance id (backends whose registrations outlive their process: Consul)',
  options: {},
  optionHelp: {},
  maxPositionals: 1,
  async run(context, { positionals }) {
    const id = required(positionals, 'id', 'deregister');
    await using discovery = context.discovery({ CONSUL_DEREGISTER_ON_CLOSE: 'false' });
    const provider = await discovery.provider();
    // A backend that cannot register says so itself; one whose registrations end with their process cannot reach another's.
    if (provider.capabilities.register && !registrationsOutliveProcess(provider.name)) {
      throw new UnsupportedError(`disco deregister: ${processBoundReason(provider.name)}; stop that process, or press Ctrl-C in the \`disco register\` holding it`);
    }
    await context.within(`deregistering "${id}"`, (signal) => provider.deregister(id, { signal }));
    context.out(`deregistered ${id}\n`);
    return exitCodes.ok;
  },
});
