// Discover services registered in Consul through Consul's DNS interface: no HTTP API and no
// token, only DNS queries to the agent's DNS port (127.0.0.1:8600). Consul answers
// `<service>.service.consul` with one SRV record per passing instance (port included) and the
// node addresses in the additional section; the dns provider turns them into instances and
// keeps them current by polling at the pace of the records' TTL.
//
// Run:  node examples/dns/main.ts [service]            (a Consul agent on 127.0.0.1:8600)
//       DNS_SERVER=10.0.0.5:8600 node examples/dns/main.ts web
// Env:  DNS_SERVER, DNS_DOMAIN, DNS_REFRESH_TTL; EXAMPLE_DURATION to watch for a while and exit
//       (e.g. 10s; default: until Ctrl-C).
import { configFromEnv, createDiscovery, endpoint, onShutdown, parseDuration, type Instance } from '@disco/core';
import { PRIORITY_KEY, srvBalancer } from '@disco/provider-dns';

const service = process.argv[2] ?? 'web';
const started = performance.now();
const say = (text: string) => console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s  ${text}`);
const show = (instances: readonly Instance[]) =>
  instances.map((i) => `${endpoint(i)} (weight ${i.weight}, priority ${i.metadata[PRIORITY_KEY]})`).join(', ') || 'none';

// Consul's DNS port unless DNS_SERVER says otherwise; DNS_DOMAIN defaults to service.consul.
const env = { DNS_SERVER: '127.0.0.1:8600', ...process.env };
const discovery = createDiscovery({ ...configFromEnv(env), provider: 'dns', balancer: srvBalancer });
discovery.on('error', ({ error }) => say(`lookup failed, still serving the last answer: ${error.message}`));

// A live handle: RFC 2782 picks (lowest priority first, then by weight), no I/O per pick.
const handle = discovery.service(service);
try {
  await handle.ready;
} catch (error) {
  console.error(`No answer for "${service}": ${(error as Error).message}\nIs a Consul agent serving DNS there? Point DNS_SERVER at one (e.g. DNS_SERVER=10.0.0.5:8600).`);
  await discovery.close();
  process.exit(1);
}
say(`${service}: ${show(handle.instances)}`);
if (handle.instances.length > 0) {
  const tally = new Map<string, number>();
  for (let i = 0; i < 1_000; i++) {
    const picked = endpoint(handle.pick()!);
    tally.set(picked, (tally.get(picked) ?? 0) + 1);
  }
  say(`1000 picks: ${[...tally].sort().map(([e, n]) => `${e} ×${n}`).join(', ')}`);
}

// Every change Consul's DNS shows from now on (instances failing checks drop out of its answers).
discovery.watch(service, (event) => {
  if ('instances' in event) say(`${service} now: ${show(event.instances)}`);
});

const duration = process.env.EXAMPLE_DURATION;
if (duration) {
  setTimeout(async () => {
    handle.close();
    await discovery.close();
    say('closed');
  }, parseDuration(duration, 'EXAMPLE_DURATION'));
} else {
  say('watching; Ctrl-C to stop');
  onShutdown(discovery, { drain: 0 });
}
