import { makeTempDir, removeDir, waitFor } from '@disco/testing';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disco, startDisco } from './disco.js';

let dir: string;
let file: string;
let env: Record<string, string>;

const services = {
  users: [
    { id: 'users-1', address: '10.0.0.1', port: 8080, zone: 'eu-west-1a', weight: 2, version: '1.4.0', tags: ['http', 'v1'] },
    { id: 'users-2', address: '10.0.0.2', port: 8080, zone: 'eu-west-1b', healthy: false },
    { id: 'users-3', address: 'fd00::3', port: 8080, tags: ['http'] },
  ],
  orders: [{ id: 'orders-1', address: '10.0.1.1', port: 9090 }],
};

beforeAll(async () => {
  dir = await makeTempDir('disco-cli-');
  file = join(dir, 'services.json');
  writeFileSync(file, JSON.stringify({ services }));
  env = { DISCOVERY_PROVIDER: 'static', DISCOVERY_STATIC_FILE: file };
});
afterAll(() => removeDir(dir));

describe('disco ls', () => {
  it('prints every instance as a table sorted by id, with no colour when piped', async () => {
    const run = await disco(['ls', 'users'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      [
        'ID       ADDRESS:PORT    HEALTHY  ZONE        WEIGHT  VERSION  TAGS',
        'users-1  10.0.0.1:8080   yes      eu-west-1a  2       1.4.0    http,v1',
        'users-2  10.0.0.2:8080   no       eu-west-1b  1       -        -',
        'users-3  [fd00::3]:8080  yes      -           1       -        http',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the instances with their endpoint; --healthy and --tag filter', async () => {
    const json = await disco(['ls', 'users', '--json'], env);
    expect(json.code).toBe(0);
    const instances = JSON.parse(json.stdout) as { id: string; endpoint: string; healthy: boolean; metadata: object }[];
    expect(instances.map((i) => [i.id, i.endpoint, i.healthy])).toEqual([
      ['users-1', '10.0.0.1:8080', true],
      ['users-2', '10.0.0.2:8080', false],
      ['users-3', '[fd00::3]:8080', true],
    ]);
    const healthy = await disco(['ls', 'users', '--healthy', '--tag', 'v1', '--json'], env);
    expect((JSON.parse(healthy.stdout) as { id: string }[]).map((i) => i.id)).toEqual(['users-1']);
  });

  it('a service without instances exits 4 and says so on stderr', async () => {
    expect(await disco(['ls', 'nobody'], env)).toMatchObject({ code: 4, stdout: '', stderr: 'no instances of "nobody"\n' });
    expect(await disco(['ls', 'orders', '--tag', 'grpc'], env)).toMatchObject({ code: 4, stderr: 'no instances of "orders" match\n' });
  });

  it('a flag wins over its variable', async () => {
    const run = await disco(['ls', 'users', '--static', 'users=127.0.0.1:7001'], { DISCOVERY_STATIC_INSTANCES: 'users=127.0.0.1:7002' });
    expect(run.stdout).toContain('127.0.0.1:7001');
    expect(run.stdout).not.toContain('7002');
    const set = await disco(['ls', 'users', '--set', 'DISCOVERY_STATIC_INSTANCES=users=127.0.0.1:7003'], {});
    expect(set.stdout).toContain('127.0.0.1:7003');
  });
});

describe('disco services', () => {
  it('lists the service names one a line, or as JSON', async () => {
    expect(await disco(['services'], env)).toMatchObject({ code: 0, stdout: 'orders\nusers\n' });
    expect(JSON.parse((await disco(['services', '--json'], env)).stdout)).toEqual(['orders', 'users']);
  });
});

describe('disco resolve', () => {
  it('prints one address:port; -n shows the spread of the balancer', async () => {
    const one = await disco(['resolve', 'users'], env);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toMatch(/^(10\.0\.0\.1:8080|\[fd00::3\]:8080)\n$/);
    const spread = await disco(['resolve', 'users', '-n', '100'], env);
    expect(spread.code).toBe(0);
    expect(spread.stdout).toMatch(/^100 picks of users with round_robin over 2 instance\(s\):\n/);
    expect(spread.stdout).toMatch(/users-1 +10\.0\.0\.1:8080 +eu-west-1a +2 +50 +50\.0% +█{20}\n/);
    expect(spread.stdout).toMatch(/users-3 +\[fd00::3\]:8080 +- +1 +50 +50\.0% +█{20}\n/);
  });

  it('--balancer loads a strategy from @disco/balancers; ring_hash with one key always picks the same instance', async () => {
    const run = await disco(['resolve', 'users', '--balancer', 'ring_hash', '--key', 'customer-42', '-n', '30', '--json'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const result = JSON.parse(run.stdout) as { balancer: string; picks: number; instances: { id: string; picks: number }[] };
    expect(result.balancer).toBe('ring_hash');
    expect(result.instances.map((i) => i.picks).sort((a, b) => a - b)).toEqual([0, 30]);
    const weighted = JSON.parse((await disco(['resolve', 'users', '-b', 'weighted_round_robin', '-n', '30', '--json'], env)).stdout) as typeof result;
    expect(Object.fromEntries(weighted.instances.map((i) => [i.id, i.picks]))).toEqual({ 'users-1': 20, 'users-3': 10 });
  });

  it('no instance is exit 4; an unknown balancer is a configuration error, exit 5', async () => {
    expect(await disco(['resolve', 'nobody'], env)).toMatchObject({ code: 4, stderr: expect.stringContaining('ERR_NO_INSTANCES') });
    const unknown = await disco(['resolve', 'users', '--balancer', 'fastest'], env);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toMatch(/disco: ERR_CONFIG: .*fastest/);
  });
});

describe('usage and configuration errors', () => {
  it('exit 2 for an unknown command, flag or bad number, with a pointer to --help', async () => {
    expect(await disco(['lsx'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "lsx"') });
    const flag = await disco(['ls', 'users', '--colour'], env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--colour'[\s\S]*run `disco ls --help` for usage/);
    expect(await disco(['resolve', 'users', '-n', 'many'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('-n takes a whole number') });
    expect(await disco(['ls'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('disco ls needs a service') });
    expect(await disco(['ls', 'a', 'b'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('unexpected argument "b"') });
    expect((await disco([], env)).code).toBe(2);
  });

  it('--help lists the commands and the exit codes; a command’s --help its own options', async () => {
    const help = await disco(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['services', 'ls <service>', 'watch <service>', 'resolve <service>', 'register', 'deregister <id>', 'doctor']) expect(help.stdout).toContain(`  ${command} `);
    expect(help.stdout).toMatch(/exit codes:\n +0 +success\n +1 +failure\n +2 +bad flags or arguments\n +3 +backend unreachable.*\n +4 +the service has no.*\n +5 +configuration wrong.*\n +6 +the backend cannot do this.*\n +130 +interrupted/);
    const resolve = await disco(['resolve', '--help']);
    expect(resolve.stdout).toMatch(/usage: disco resolve <service> \[options\]/);
    expect(resolve.stdout).toMatch(/-b, --balancer <value> +the balancer/);
    expect((await disco(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('a bad variable is exit 5 naming it', async () => {
    const run = await disco(['ls', 'users'], { DISCOVERY_PROVIDER: 'zookeeper' });
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/disco: ERR_CONFIG: DISCOVERY_PROVIDER="zookeeper" is not valid/);
  });

  it('register and deregister on the static provider are exit 6, saying what to do instead', async () => {
    const register = await disco(['register', '--name', 'users', '--address', '127.0.0.1', '--port', '8080'], env);
    expect(register.code).toBe(6);
    expect(register.stderr).toMatch(/ERR_UNSUPPORTED: .*list instances in DISCOVERY_STATIC_INSTANCES or DISCOVERY_STATIC_FILE/);
    expect((await disco(['deregister', 'users-1'], env)).code).toBe(6);
  });

  it('register with an invalid definition is exit 2 listing every problem', async () => {
    const run = await disco(['register', '--provider', 'consul', '--name', 'users', '--address', 'not an address', '--port', '70000'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ERR_INVALID_SERVICE.*address.*port/s);
  });
});

describe('disco watch, piped', () => {
  it('prints one timestamped line per change and exits 0 on Ctrl-C', async () => {
    const watch = startDisco(['watch', 'orders'], env);
    await waitFor(() => watch.stdout.includes('orders 1 instance(s)'));
    writeFileSync(file, JSON.stringify({ services: { ...services, orders: [...services.orders, { id: 'orders-2', address: '10.0.1.2', port: 9090 }] } }));
    await waitFor(() => watch.stdout.includes('+orders-2@10.0.1.2:9090'), { timeoutMs: 5_000 });
    writeFileSync(file, JSON.stringify({ services: { ...services, orders: [{ id: 'orders-2', address: '10.0.1.2', port: 9090 }] } }));
    await waitFor(() => watch.stdout.includes('-orders-1'), { timeoutMs: 5_000 });
    watch.kill('SIGINT');
    const run = await watch.exited;
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z orders 1 instance\(s\), 1 healthy \+orders-1@10\.0\.1\.1:9090$/);
    expect(lines[1]).toMatch(/Z orders 2 instance\(s\), 2 healthy \+orders-2@10\.0\.1\.2:9090$/);
    expect(lines[2]).toMatch(/Z orders 1 instance\(s\), 1 healthy -orders-1$/);
    writeFileSync(file, JSON.stringify({ services }));
  });
});

describe('disco doctor', () => {
  it('on the static provider: every check passes', async () => {
    const run = await disco(['doctor'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^✓ configuration +provider static; DISCOVERY_PROVIDER=static DISCOVERY_STATIC_FILE=.*services\.json\n✓ provider +static loaded\n✓ backend +static at .* answered in [\d.]+ ms; 2 service\(s\) visible\n$/);
  });
});
