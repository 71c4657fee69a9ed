import { getServers } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { optionsFromEnv } from '../src/index.js';
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
