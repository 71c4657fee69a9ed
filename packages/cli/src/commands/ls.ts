import { exitCodes } from '../exit-codes.js';
import { defineCommand } from '../command.js';
import { instanceJson, instanceTable } from '../instance-table.js';
import { required } from '../options.js';

export const filterOptions = {
  healthy: { type: 'boolean' },
  tag: { type: 'string', multiple: true },
} as const;

export const filterHelp = {
  healthy: 'only healthy instances (default: all, with a HEALTHY column)',
  tag: 'only instances carrying this tag (repeat for several: all must match)',
} as const;

export const lsCommand = defineCommand({
  name: 'ls',
  synopsis: 'ls <service>',
  summary: 'the instances of a service as a table (id, address:port, healthy, zone, weight, version, tags)',
  options: filterOptions,
  optionHelp: filterHelp,
  maxPositionals: 1,
  async run(context, { values, positionals }) {
    const name = required(positionals, 'service', 'ls');
    await using discovery = context.discovery();
    const instances = await context.within(`reading "${name}"`, (signal) => discovery.discover(name, { healthyOnly: values.healthy === true, tags: values.tag ?? [], signal }));
    if (context.json) context.printJson(instances.map(instanceJson));
    else if (instances.length > 0) context.out(instanceTable(instances, context.style));
    if (instances.length > 0) return exitCodes.ok;
    context.err(`no instances of "${name}"${values.healthy || values.tag ? ' match' : ''}\n`);
    return exitCodes.noInstances;
  },
});
