// What does the provider add on top of a raw dns2 query? Three timings against one real
// dnsmasq on loopback, in one run: a raw dns2 SRV resolve (the baseline), discover() on a warm
// provider without a watch (one SRV query plus parsing, target resolution and snapshot
// building), and discover() while a watch runs (served from the watch's snapshot).
// Run: pnpm build (and @disco/testing's) then `pnpm bench`.
import { UDPClient } from 'dns2';
import { Dnsmasq } from '@disco/testing';
import { DnsProvider } from '@disco/provider-dns';

const rounds = Number(process.env.BENCH_ROUNDS ?? 2_000);

const dnsmasq = await Dnsmasq.start(
  {
    srv: Array.from({ length: 5 }, (_, i) => ({ name: '_web._tcp.disco.test', target: `h${i}.disco.test`, port: 8080 + i, priority: 1, weight: 10 + i })),
    hosts: Array.from({ length: 5 }, (_, i) => ({ name: `h${i}.disco.test`, addresses: [`10.0.0.${i + 1}`] })),
  },
  { ttl: 60 },
);

/** Median µs per call over blocks run alternately with the others, so load drift on a shared machine hits all alike. */
async function compare(cases: Record<string, () => Promise<unknown>>, blocks = 10): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (const [name, run] of Object.entries(cases)) {
    samples[name] = [];
    for (let i = 0; i < 100; i++) await run(); // warm-up
  }
  const perBlock = Math.max(1, Math.round(rounds / blocks));
  for (let b = 0; b < blocks; b++) {
    for (const [name, run] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < perBlock; i++) await run();
      samples[name]!.push(Number(process.hrtime.bigint() - start) / 1_000 / perBlock);
    }
  }
  const result: Record<string, number> = {};
  for (const [name, list] of Object.entries(samples)) {
    list.sort((x, y) => x - y);
    result[name] = list[Math.floor(list.length / 2)]!;
    console.log(`${name.padEnd(44)} ${result[name]!.toFixed(1).padStart(8)} µs/call (median of ${blocks} blocks)`);
  }
  return result;
}

try {
  const raw = UDPClient({ dns: '127.0.0.1', port: dnsmasq.port, timeout: 2_000, retryOverTCP: true });
  const provider = new DnsProvider({ servers: dnsmasq.address, domain: 'disco.test', srvName: 'rfc2782' });
  if ((await provider.discover('web')).length !== 5) throw new Error('expected 5 instances');

  const watchedProvider = new DnsProvider({ servers: dnsmasq.address, domain: 'disco.test', srvName: 'rfc2782' });
  const stop = watchedProvider.watch('web', () => {});
  while ((await watchedProvider.discover('web')).length !== 5);
  const { baseline, cold, watched } = await compare({
    baseline: () => raw('_web._tcp.disco.test', 'SRV'),
    cold: () => provider.discover('web'),
    watched: () => watchedProvider.discover('web'),
  }) as Record<'baseline' | 'cold' | 'watched', number>;
  console.log('baseline = dns2 UDPClient resolve SRV; cold = provider.discover() without a watch; watched = provider.discover() while a watch runs');
  stop();
  await Promise.all([provider.close(), watchedProvider.close()]);

  console.log(`ratio discover/no watch vs raw dns2: ${(cold / baseline).toFixed(2)}x`);
  console.log(`ratio discover/watch running vs raw dns2: ${(watched / baseline).toFixed(3)}x`);
} finally {
  await dnsmasq.close();
}
