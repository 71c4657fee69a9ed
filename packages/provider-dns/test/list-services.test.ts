import { createDiscovery } from '@disco/core';
import { dnsRecord, ScriptableDnsServer } from '@disco/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dnsProvider } from '../src/index.js';

let server: ScriptableDnsServer;
beforeAll(async () => {
  server = await ScriptableDnsServer.start([dnsRecord.srv('web.service.consul', 'a.node.consul', 8080), dnsRecord.a('a.node.consul', '10.0.0.1')]);
});
afterAll(() => server?.stop());

it('listServices is ERR_UNSUPPORTED saying why DNS cannot enumerate, and asks the server nothing', async () => {
  const provider = dnsProvider({ servers: server.address });
  const before = server.queries.length;
  const error = await provider.listServices().catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'ERR_UNSUPPORTED', retryable: false });
  expect((error as Error).message).toMatch(/cannot list services: DNS answers only for a name it is asked about .*<name>\.service\.consul.*no query that enumerates them.*DISCOVERY_PROVIDER=consul/);
  expect(server.queries.length).toBe(before);
  // Through a Discovery too, and discovering by name still works.
  const discovery = createDiscovery({ provider });
  await expect(discovery.listServices()).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('DNS answers only for a name') });
  expect((await discovery.discover('web')).map((i) => i.port)).toEqual([8080]);
  await discovery.close();
});
