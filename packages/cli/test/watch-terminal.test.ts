import { makeTempDir, removeDir, waitFor } from '@disco/testing';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { bin } from './disco.js';
import { TmuxSession } from './tmux.js';

let dir: string;
let file: string;
let session: TmuxSession | undefined;

const orders = (...ids: number[]) => JSON.stringify({ services: { orders: ids.map((n) => ({ id: `orders-${n}`, address: `10.0.1.${n}`, port: 9090, zone: 'az-1' })) } });

beforeAll(async () => {
  dir = await makeTempDir('disco-tmux-');
  file = join(dir, 'services.json');
});
afterEach(async () => {
  await session?.kill();
  session = undefined;
});
afterAll(() => removeDir(dir));

/** `disco watch orders` in a shell inside tmux; the shell prints the exit code when it ends, then waits. */
function watchCommand(extraEnv = ''): string {
  const env = `env -u NO_COLOR -u DISCOVERY_STATIC_INSTANCES DISCOVERY_PROVIDER=static DISCOVERY_STATIC_FILE=${file} ${extraEnv}`;
  return `${env} ${process.execPath} ${bin} watch orders; echo "[exit $?]"; sleep 60`;
}

it('disco watch on a terminal redraws its table in place, in colour, and exits 0 on Ctrl-C', async () => {
  writeFileSync(file, orders(1));
  session = await TmuxSession.start(watchCommand());
  await waitFor(async () => (await session!.screen()).includes('orders-1'), { timeoutMs: 10_000, what: 'the first table' });
  const first = await session.screen();
  expect(first).toMatch(/^orders {2}1 instance\(s\), 1 healthy {2}changed \d\d:\d\d:\d\d$/m);
  expect(first).toMatch(/^ID +ADDRESS:PORT +HEALTHY +ZONE +WEIGHT +VERSION +TAGS$/m);
  expect(first).toMatch(/^orders-1 +10\.0\.1\.1:9090 +yes +az-1 +1 +- +-$/m);
  expect(first).toContain('Ctrl-C to quit');
  // On a terminal `yes` is green (SGR 32) and the service name bold (SGR 1).
  const colours = await session.screen(true);
  /* eslint-disable no-control-regex -- the escape sequences are what is checked */
  expect(colours).toMatch(/\x1b\[32myes\x1b\[39m/);
  expect(colours).toMatch(/\x1b\[1morders\x1b\[(0|22)m/); // tmux re-encodes the end of bold as a reset
  /* eslint-enable no-control-regex */

  writeFileSync(file, orders(1, 2, 3));
  await waitFor(async () => (await session!.screen()).includes('orders-3'), { timeoutMs: 10_000, what: 'the redrawn table' });
  const second = await session.screen();
  // Redrawn in place: one header, one table, the rows of the new snapshot only.
  expect(second.match(/^orders {2}\d instance/gm)).toEqual(['orders  3 instance']);
  expect(second.match(/^ID +ADDRESS:PORT/gm)).toHaveLength(1);
  expect(second.match(/^orders-\d /gm)).toEqual(['orders-1 ', 'orders-2 ', 'orders-3 ']);
  expect(second).not.toContain('1 instance(s)');

  writeFileSync(file, orders(3));
  await waitFor(async () => !(await session!.screen()).includes('orders-1 '), { timeoutMs: 10_000, what: 'the removal' });
  expect((await session.screen()).match(/^orders-\d /gm)).toEqual(['orders-3 ']);

  await session.sendKeys('C-c');
  await waitFor(async () => (await session!.screen()).includes('[exit '), { timeoutMs: 10_000, what: 'the exit' });
  const last = await session.screen();
  expect(last).toContain('[exit 0]');
  expect(last).not.toMatch(/Error|ERR_/);
});

it('NO_COLOR keeps the terminal view free of colour', async () => {
  writeFileSync(file, orders(1));
  session = await TmuxSession.start(watchCommand('NO_COLOR=1'));
  await waitFor(async () => (await session!.screen()).includes('orders-1'), { timeoutMs: 10_000, what: 'the table' });
  const screen = await session.screen(true);
  expect(screen).toMatch(/^orders-1 +10\.0\.1\.1:9090 +yes /m);
  expect(screen).not.toMatch(/\x1b\[(1|2|31|32|33)m/); // eslint-disable-line no-control-regex
  await session.sendKeys('C-c');
  await waitFor(async () => (await session!.screen()).includes('[exit 0]'), { timeoutMs: 10_000, what: 'the exit' });
});
