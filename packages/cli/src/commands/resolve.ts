import { endpoint, NoInstancesError, type Instance } from '@disco/core';
import { exitCodes } from '../exit-codes.js';
import { defineCommand } from '../command.js';
import { integerFlag, required } from '../options.js';
import { table } from '../table.js';

export const resolveCommand = defineCommand({
  name: 'resolve',
  synopsis: 'resolve <service>',
  summary: 'pick an instance through a balancer and print its address:port; with -n N, pick N times and show the spread',
  options: {
    balancer: { type: 'string', short: 'b' },
    count: { type: 'string', short: 'n' },
    key: { type: 'string' },
    zone: { type: 'string' },
    tag: { type: 'string', multiple: true },
  },
  optionHelp: {
    balancer: 'the balancer (default DISCOVERY_BALANCER, else round_robin): random, least_connections, p2c, peak_ewma, ring_hash, maglev, …',
    count: 'how many picks (default 1)',
    key: 'the affinity key for ring_hash and maglev',
    zone: 'the caller’s zone, for zone-aware balancing',
    tag: 'only instances carrying this tag (repeatable)',
  },
  maxPositionals: 1,
  async run(context, { values, positionals }) {
    const name = required(positionals, 'service', 'resolve');
    const picks = integerFlag(values.count, '-n', 1, 1, 1_000_000);
    const config = context.config();
    await using discovery = context.discovery();
    using handle = discovery.service(name, { balancer: values.balancer ?? config.balancer, tags: values.tag ?? [] });
    await context.within(`reading "${name}"`, () => handle.ready);
    if (!handle.routable) throw new NoInstancesError(name);
    const counts = new Map<Instance, number>(handle.instances.map((i) => [i, 0]));
    const pickContext = { ...(values.key !== undefined && { key: values.key }), ...(values.zone !== undefined && { zone: values.zone }) };
    // acquire/release, not pick(): balancers that count calls in flight hear each one end.
    for (let i = 0; i < picks; i++) {
      const lease = handle.acquire(pickContext);
      counts.set(lease.instance, (counts.get(lease.instance) ?? 0) + 1);
      lease.release({ ok: true });
    }
    const spread = [...counts].map(([instance, n]) => ({ id: instance.id, endpoint: endpoint(instance), zone: instance.zone, weight: instance.weight, picks: n, share: n / picks }));
    const balancer = handle.balancer.name;
    if (context.json) {
      context.printJson({ service: name, balancer, picks, instances: spread });
    } else if (picks === 1) {
      context.out(`${spread.find((s) => s.picks === 1)!.endpoint}\n`);
    } else {
      const s = context.style;
      context.out(`${picks} picks of ${s.bold(name)} with ${balancer} over ${spread.length} instance(s):\n`);
      const rows = spread.map((r) => [r.id, r.endpoint, r.zone ?? '-', String(r.weight), String(r.picks), `${(r.share * 100).toFixed(1)}%`, s.green('█'.repeat(Math.round(r.share * 40)))]);
      context.out(table(['ID', 'ADDRESS:PORT', 'ZONE', 'WEIGHT', 'PICKS', 'SHARE', ''], rows));
    }
    return exitCodes.ok;
  },
});
