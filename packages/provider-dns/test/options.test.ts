import { getServers } from 'node:dns';
import { silentLogger } from '@disco/core';
import { dnsRecord, ScriptableDnsServer } from '@disco/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProvider, dnsProvider, optionsFromEnv, optionVariables, type DnsProvider } from '../src/index.js';
import { parseServer, resolveSettings } from '../src/options.js';

describe('dns provider options', () => {
  it('reads DNS_SERVER, DNS_PORT, DNS_DOMAIN and DNS_REFRESH_TTL', () => {
    const options = optionsFromEnv({ DNS_SERVER: '10.0.0.1, [fd00::1]:5353,dns.internal:8600', DNS_PORT: '5300', DNS_DOMAIN: 'consul.', DNS_REFRESH_TTL: '10s' });
    const settings = resolveSettings(options);
    expect(settings.servers).toEqual([
      { host: '10.0.0.1', port: 5300 },
      { host: 'fd00::1', port: 5353 },
      { host: 'dns.internal', port: 8600 },
    ]);
    expect(settings.domain).toBe('consul');
    expect(settings.refreshMaxMs).toBe(10_000);
  });

  it('defaults: the system resolvers, port 53, service.consul, 30s, Consul naming', () => {
    const settings = resolveSettings(optionsFromEnv({}));
    expect(settings.servers).toEqual(getServers().map((s) => parseServer(s, 53)));
    expect(settings.domain).toBe('service.consul');
    expect(settings.refreshMaxMs).toBe(30_000);
    expect(settings.refreshMinMs).toBe(1_000);
    expect(settings.srvName('web')).toBe('web.service.consul');
    expect(settings.hostName('web')).toBe('web.service.consul');
  });

  it('names SRV records in the Consul form, the RFC 2782 form, a template or a function, with an optional tag', () => {
    const name = (options: Parameters<typeof resolveSettings>[0]) => resolveSettings({ servers: '127.0.0.1', ...options }).srvName('web');
    expect(name({ tag: 'v2' })).toBe('v2.web.service.consul');
    expect(name({ srvName: 'rfc2782', domain: 'example.com' })).toBe('_web._tcp.example.com');
    expect(name({ srvName: 'rfc2782', protocol: 'udp', domain: 'example.com' })).toBe('_web._udp.example.com');
    expect(name({ srvName: 'rfc2782', tag: 'v2' })).toBe('_web._v2.service.consul');
    expect(name({ srvName: '_{service}._{proto}.{tag}.{domain}', tag: 'x', domain: 'd.test' })).toBe('_web._tcp.x.d.test');
    expect(name({ srvName: (s) => `${s}.svc.cluster.local` })).toBe('web.svc.cluster.local');
  });

  it('rejects bad values with ERR_CONFIG naming the variable and the value', () => {
    expect(() => optionsFromEnv({ DNS_PORT: '99999' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'DNS_PORT', message: expect.stringContaining('"99999"') }));
    expect(() => optionsFromEnv({ DNS_REFRESH_TTL: 'soon' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining('DNS_REFRESH_TTL') }));
    expect(() => resolveSettings({ servers: 'not a host!' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'DNS_SERVER', message: expect.stringContaining('"not a host!"') }));
    expect(() => resolveSettings({ servers: '10.0.0.1:0' })).toThrow(/invalid port/);
    expect(() => resolveSettings({ servers: [] })).toThrow(/set DNS_SERVER/);
    expect(() => resolveSettings({ servers: '10.0.0.1', srvName: '{tag}.{service}' })).toThrow(/uses \{tag\} but no tag is set/);
    expect(() => resolveSettings({ servers: '10.0.0.1', fallbackPort: { web: 0 } })).toThrow(/fallbackPort\.web/);
    expect(() => resolveSettings({ servers: '10.0.0.1', priorities: 'most' as never })).toThrow(/priorities/);
  });
});

describe('dnsProvider(options, context): one way to read the environment (issue 11, item 9)', () => {
  const env = { DNS_SERVER: '127.0.0.1:8600', DNS_DOMAIN: 'consul' };
  const providers: DnsProvider[] = [];
  const make = (...args: Parameters<typeof dnsProvider>) => {
    const provider = dnsProvider(...args);
    providers.push(provider);
    return provider;
  };
  afterEach(async () => {
    vi.unstubAllEnvs();
    await Promise.all(providers.splice(0).map((p) => p.close()));
  });

  it('reads DNS_* from process.env when the context names no environment', () => {
    vi.stubEnv('DNS_SERVER', '10.9.8.7:5353');
    vi.stubEnv('DNS_SRV_NAME', 'rfc2782');
    vi.stubEnv('DNS_PROTOCOL', 'udp');
    const provider = make();
    expect(provider.settings.servers).toEqual([{ host: '10.9.8.7', port: 5353 }]);
    expect(provider.settings.srvName('web')).toBe('_web._udp.service.consul');
  });

  it('reads context.env instead of process.env when given', () => {
    vi.stubEnv('DNS_SERVER', '10.9.8.7');
    expect(make({}, { env }).settings.servers).toEqual([{ host: '127.0.0.1', port: 8600 }]);
  });

  it('has a variable for every option, srvName, protocol, tag and fallbackPort included', () => {
    const provider = make(
      {},
      {
        env: {
          ...env,
          DNS_PORT: '5300',
          DNS_REFRESH_TTL: '20s',
          DNS_MIN_REFRESH: '500ms',
          DNS_TIMEOUT: '750ms',
          DNS_SRV_NAME: '_{service}._{proto}.{tag}.{domain}',
          DNS_PROTOCOL: 'udp',
          DNS_TAG: 'blue',
          DNS_HOST_NAME: '{service}.hosts.{domain}',
          DNS_FALLBACK_PORT: 'web=9090, api=9091',
          DNS_PRIORITIES: 'all',
        },
      },
    );
    const s = provider.settings;
    expect([s.refreshMaxMs, s.refreshMinMs, s.timeoutMs, s.priorities]).toEqual([20_000, 500, 750, 'all']);
    expect(s.srvName('web')).toBe('_web._udp.blue.consul');
    expect(s.hostName('web')).toBe('web.hosts.consul');
    expect([s.fallbackPort('web'), s.fallbackPort('api'), s.fallbackPort('other'), s.fallbackPort('toString')]).toEqual([9090, 9091, undefined, undefined]);
    expect(make({}, { env: { ...env, DNS_FALLBACK_PORT: '8080' } }).settings.fallbackPort('any')).toBe(8080);
    expect(make({}, { env: { ...env, DNS_TAG: 'blue' } }).settings.srvName('web')).toBe('blue.web.consul');
    // Every option key but the logger has its variable.
    expect(Object.keys(optionVariables).sort()).toEqual(
      ['servers', 'port', 'domain', 'refreshTtl', 'minRefresh', 'timeout', 'srvName', 'protocol', 'tag', 'hostName', 'fallbackPort', 'priorities'].sort(),
    );
  });

  it('a defined option overrides its variable; an explicit undefined does not hide it', () => {
    expect(make({ domain: 'other' }, { env }).settings.domain).toBe('other');
    const provider = make({ servers: undefined, domain: undefined, tag: undefined }, { env: { ...env, DNS_TAG: 'blue' } });
    expect(provider.settings.servers).toEqual([{ host: '127.0.0.1', port: 8600 }]);
    expect(provider.settings.srvName('web')).toBe('blue.web.consul');
  });

  it('an unknown option key is ERR_CONFIG naming it and the nearest known key', () => {
    expect(() => make({ server: '10.0.0.1' } as never, { env })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', variable: 'dns.server', message: expect.stringContaining('did you mean "servers"?') }),
    );
    expect(() => make({ fallbackport: 80 } as never, { env })).toThrow(/unknown option "dns\.fallbackport"; did you mean "fallbackPort"\?/);
    expect(() => createProvider('10.0.0.1', { env, logger: silentLogger })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  it('bad variables are ERR_CONFIG naming the variable and the value', () => {
    const bad = (name: string, value: string) => () => make({}, { env: { ...env, [name]: value } });
    expect(bad('DNS_FALLBACK_PORT', 'web=0')).toThrow(expect.objectContaining({ variable: 'DNS_FALLBACK_PORT', message: expect.stringContaining('"0"') }));
    expect(bad('DNS_FALLBACK_PORT', 'web:80')).toThrow(expect.objectContaining({ variable: 'DNS_FALLBACK_PORT' }));
    expect(bad('DNS_PRIORITIES', 'most')).toThrow(expect.objectContaining({ variable: 'DNS_PRIORITIES', message: expect.stringContaining('"most"') }));
    expect(bad('DNS_TIMEOUT', 'soon')).toThrow(expect.objectContaining({ variable: 'DNS_TIMEOUT' }));
    expect(bad('DNS_SRV_NAME', '{tag}.{service}')).toThrow(expect.objectContaining({ variable: 'DNS_SRV_NAME' }));
    expect(bad('DNS_PORT', '53x')).toThrow(expect.objectContaining({ variable: 'DNS_PORT' }));
  });

  it('refuses durations a timer cannot hold (above 2^31-1 ms), from an option or a variable', () => {
    expect(() => make({ refreshTtl: '1000h' }, { env })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'DNS_REFRESH_TTL', message: expect.stringMatching(/at most 2147483647 ms/) }));
    expect(() => make({ refreshTtl: 2 ** 31 }, { env })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'DNS_REFRESH_TTL' }));
    expect(() => make({}, { env: { ...env, DNS_REFRESH_TTL: '9'.repeat(400) } })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', variable: 'DNS_REFRESH_TTL' }));
    expect(() => make({}, { env: { ...env, DNS_MIN_REFRESH: '600h' } })).toThrow(expect.objectContaining({ variable: 'DNS_MIN_REFRESH' }));
    expect(make({ refreshTtl: 2 ** 31 - 1 }, { env }).settings.refreshMaxMs).toBe(2 ** 31 - 1);
  });

  it('logs to options.logger, else context.logger (never a positional argument)', async () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (_fields: object, message: string) => void lines.push(`options: ${message}`) };
    const contextLogger = { ...silentLogger, warn: (_fields: object, message: string) => void lines.push(`context: ${message}`) };
    const server = await ScriptableDnsServer.start([dnsRecord.srv('web.consul', 'ghost.consul', 80)]);
    try {
      await make({ servers: server.address, logger }, { env, logger: contextLogger }).discover('web');
      await make({ servers: server.address }, { env, logger: contextLogger }).discover('web');
      expect(lines).toEqual([expect.stringMatching(/^options: .*ghost\.consul has no A or AAAA record/), expect.stringMatching(/^context: .*ghost\.consul/)]);
    } finally {
      await server.stop();
    }
  });

  it('closes through Symbol.asyncDispose', async () => {
    const provider = make({}, { env });
    await provider[Symbol.asyncDispose]();
    await expect(provider.discover('web')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
