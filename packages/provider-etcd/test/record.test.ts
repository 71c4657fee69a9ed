import { describe, expect, it } from 'vitest';
import { InvalidRecordError, type Instance } from '@disco/core';
import { codecFor, readEntry, RECORD_VERSION } from '../src/record.ts';

const disco = codecFor('disco');
const go = codecFor('go-grpc');
const service = { id: 'api-1', name: 'api', address: '10.0.0.1', port: 8080, version: '1.4.2', tags: ['http'], metadata: { region: 'eu' }, weight: 2, zone: 'eu-1' };
const read = (codec: typeof disco, key: string, value: unknown): Instance | undefined =>
  readEntry(codec, '/services/api/', 'api', key, Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));
const invalid = (codec: typeof disco, key: string, value: unknown): InvalidRecordError => {
  try {
    read(codec, key, value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRecordError);
    expect((error as InvalidRecordError).key).toBe(key);
    return error as InvalidRecordError;
  }
  throw new Error('expected an InvalidRecordError');
};

describe('disco layout v1', () => {
  it('writes the documented JSON and reads it back', () => {
    const value = disco.encode(service, true)!;
    expect(JSON.parse(value)).toEqual({ v: RECORD_VERSION, ...service, healthy: true });
    expect(read(disco, '/services/api/api-1', value)).toEqual({ ...service, healthy: true });
    expect(JSON.parse(disco.encode({ id: 'b', name: 'api', address: 'h', port: 1 }, false)!)).toEqual({ v: 1, id: 'b', name: 'api', address: 'h', port: 1, healthy: false });
  });

  it('skips records it cannot trust, saying why', () => {
    expect(invalid(disco, '/services/api/x', 'not json').message).toMatch(/not JSON/);
    expect(invalid(disco, '/services/api/x', [1]).message).toMatch(/not a JSON object/);
    expect(invalid(disco, '/services/api/x', { v: 2, id: 'x' }).message).toMatch(/version 2 is newer.*upgrade/);
    expect(invalid(disco, '/services/api/x', { id: 'x' }).message).toMatch(/"v" must be 1/);
    expect(invalid(disco, '/services/api/x', { v: 1, id: 'y', name: 'api', address: 'h', port: 1, healthy: true }).message).toMatch(/"id" "y" does not match/);
    expect(invalid(disco, '/services/api/x', { v: 1, id: 'x', name: 'web', address: 'h', port: 1, healthy: true }).message).toMatch(/"name" "web"/);
    expect(invalid(disco, '/services/api/x', { v: 1, id: 'x', name: 'api', address: 'h', port: 1 }).message).toMatch(/healthy/);
    expect(invalid(disco, '/services/api/x', { v: 1, id: 'x', name: 'api', address: 'h', port: 0, healthy: true }).message).toMatch(/port/);
    expect(invalid(disco, '/services/api/', {}).message).toMatch(/no instance id/);
  });
});

describe('go-grpc layout', () => {
  it('reads what go.etcd.io/etcd naming writes, old and new', () => {
    expect(read(go, '/services/api/1.2.3.4:50051', { Op: 0, Addr: '1.2.3.4:50051', Metadata: { zone: 'a', n: 1 } })).toEqual({
      id: '1.2.3.4:50051', name: 'api', address: '1.2.3.4', port: 50051, tags: [], metadata: { zone: 'a', n: '1' }, healthy: true, weight: 1,
    });
    expect(read(go, '/services/api/e1', { Addr: '[fd00::1]:443', Metadata: null })).toMatchObject({ id: 'e1', address: 'fd00::1', port: 443 });
    expect(read(go, '/services/api/e1', { Op: 1, Addr: '1.2.3.4:1' })).toBeUndefined();
  });

  it('writes the Go shape, and nothing for an unhealthy registration', () => {
    expect(JSON.parse(go.encode(service, true)!)).toEqual({ Op: 0, Addr: '10.0.0.1:8080', Metadata: { region: 'eu' } });
    expect(go.encode(service, false)).toBeUndefined();
  });

  it('rejects an address without a port', () => {
    expect(invalid(go, '/services/api/e', { Addr: '1.2.3.4' }).message).toMatch(/host:port/);
    expect(invalid(go, '/services/api/e', { Op: 7, Addr: '1.2.3.4:1' }).message).toMatch(/Op/);
  });
});
