import { exitCodes } from '../exit-codes.js';
import { defineCommand } from '../command.js';

export const servicesCommand = defineCommand({
  name: 'services',
  synopsis: 'services',
  summary: 'the names of the services the backend knows, one a line',
  options: {},
  optionHelp: {},
  maxPositionals: 0,
  async run(context) {
    await using discovery = context.discovery();
    const names = await context.within('listing services', (signal) => discovery.listServices({ signal }));
    if (context.json) context.printJson(names);
    else if (names.length === 0) context.err('no services are registered\n');
    else context.out(names.map((name) => `${name}\n`).join(''));
    return exitCodes.ok;
  },
});
