import { exitCodeFor, exitCodes } from '../exit-codes.js';
import { defineCommand } from '../command.js';
import { filterHelp, filterOptions } from './ls.js';
import { required } from '../options.js';
import { LineLog, LiveView, type WatchView } from '../watch-views.js';

export const watchCommand = defineCommand({
  name: 'watch',
  synopsis: 'watch <service>',
  summary: 'follow a service live: a table redrawn in place on a terminal, one timestamped line per change when piped; Ctrl-C ends it',
  options: filterOptions,
  optionHelp: filterHelp,
  maxPositionals: 1,
  async run(context, { values, positionals }) {
    const name = required(positionals, 'service', 'watch');
    const discovery = context.discovery();
    const view: WatchView = context.io.stdout.isTTY && !context.json ? new LiveView(context, name) : new LineLog(context, name);
    // A failure that waiting cannot fix (a bad variable, rejected credentials) ends the watch with its exit code.
    const fatal = new AbortController();
    let code: number = exitCodes.ok;
    const unsubscribe = discovery.watch(
      name,
      (event) => {
        view.update(event);
        if ('error' in event && !event.error.retryable && event.error.code !== 'ERR_CLOSED') {
          code = exitCodeFor(event.error);
          fatal.abort();
        }
      },
      { healthyOnly: values.healthy === true, tags: values.tag ?? [] },
    );
    await context.until(AbortSignal.any([context.interrupted, fatal.signal]));
    unsubscribe();
    view.end();
    await discovery.close();
    return code as typeof exitCodes[keyof typeof exitCodes];
  },
});
