import { createInstance, endpoint, InvalidRecordError, serviceProblems, type Instance, type Service } from '@disco/core';
import { parseHostPort } from '@disco/core/provider';
import type { EtcdLayout } from './options.js';

/**
 * Version 1 of the value disco writes at `<prefix><name>/<id>`:
 *
 * ```json
 * {"v":1,"id":"api-1","name":"api","address":"10.0.0.1","port":8080,"version":"1.4.2",
 *  "tags":["http"],"metadata":{"region":"eu"},"weight":1,"zone":"eu-west-1a","healthy":true}
 * ```
 *
 * `v`, `id`, `name`, `address`, `port` and `healthy` are always written; the rest only when
 * set. A reader rejects other versions, so a future v2 can change the shape safely.
 */
export const RECORD_VERSION = 1;

/** What the Go gRPC naming packages write: `{"Op":0,"Addr":"host:port","Metadata":...}`. */
interface GoUpdate {
  Op?: number;
  Addr?: unknown;
  Metadata?: unknown;
}

/** Reads and writes one layout. `decode` returns undefined for a key that holds no instance. */
export interface RecordCodec {
  /** The value to put for a registration, or undefined when nothing should be stored (Go layout, unhealthy). */
  encode(service: Service, healthy: boolean): string | undefined;
  /** Throws InvalidRecordError for a value that cannot be read. */
  decode(key: string, name: string, id: string, value: Buffer): Instance | undefined;
}

function parseJson(key: string, value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    throw new InvalidRecordError(key, 'the value is not JSON');
  }
}

const discoCodec: RecordCodec = {
  encode(service, healthy) {
    const record: Record<string, unknown> = { v: RECORD_VERSION, id: service.id, name: service.name, address: service.address, port: service.port };
    if (service.version !== undefined) record.version = service.version;
    if (service.tags !== undefined && service.tags.length > 0) record.tags = service.tags;
    if (service.metadata !== undefined && Object.keys(service.metadata).length > 0) record.metadata = service.metadata;
    if (service.weight !== undefined) record.weight = service.weight;
    if (service.zone !== undefined) record.zone = service.zone;
    record.healthy = healthy;
    return JSON.stringify(record);
  },

  decode(key, name, id, value) {
    const record = parseJson(key, value);
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new InvalidRecordError(key, 'the value is not a JSON object');
    const r = record as Record<string, unknown>;
    if (r.v !== RECORD_VERSION) {
      const reason = typeof r.v === 'number' && r.v > RECORD_VERSION
        ? `record version ${r.v} is newer than this reader (${RECORD_VERSION}): upgrade @disco/provider-etcd`
        : `"v" must be ${RECORD_VERSION}; got ${JSON.stringify(r.v)}`;
      throw new InvalidRecordError(key, reason);
    }
    if (r.id !== id) throw new InvalidRecordError(key, `"id" ${JSON.stringify(r.id)} does not match the key`);
    if (r.name !== name) throw new InvalidRecordError(key, `"name" ${JSON.stringify(r.name)} does not match the key`);
    if (typeof r.healthy !== 'boolean') throw new InvalidRecordError(key, '"healthy" must be true or false');
    const problems = serviceProblems({ ...r, health: undefined });
    if (problems.length > 0) throw new InvalidRecordError(key, problems.join('; '));
    return createInstance({
      id,
      name,
      address: r.address as string,
      port: r.port as number,
      version: r.version as string | undefined,
      tags: r.tags as string[] | undefined,
      metadata: r.metadata as Record<string, string> | undefined,
      weight: r.weight as number | undefined,
      zone: r.zone as string | undefined,
      healthy: r.healthy,
    });
  },
};

function goMetadata(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/**
 * go.etcd.io/etcd/client/v3/naming/endpoints (and the older clientv3/naming): any key under
 * `<target>/` whose value is `{"Op":0,"Addr":"host:port","Metadata":...}`. Go has no health
 * flag, so an unhealthy registration is taken out of etcd (and put back when healthy).
 */
const goCodec: RecordCodec = {
  encode(service, healthy) {
    if (!healthy) return undefined;
    return JSON.stringify({ Op: 0, Addr: endpoint(service), Metadata: service.metadata ?? null });
  },

  decode(key, name, id, value) {
    const update = parseJson(key, value) as GoUpdate;
    if (typeof update !== 'object' || update === null || Array.isArray(update)) throw new InvalidRecordError(key, 'the value is not a JSON object');
    if (update.Op === 1) return undefined; // a "Delete" update: no endpoint
    if (update.Op !== undefined && update.Op !== 0) throw new InvalidRecordError(key, `"Op" must be 0 (add) or 1 (delete); got ${JSON.stringify(update.Op)}`);
    if (typeof update.Addr !== 'string') throw new InvalidRecordError(key, '"Addr" must be a "host:port" string');
    const hostPort = parseHostPort(update.Addr);
    if (!hostPort) throw new InvalidRecordError(key, `"Addr" ${JSON.stringify(update.Addr)} is not host:port with a port from 1 to 65535`);
    return createInstance({ id, name, ...hostPort, metadata: goMetadata(update.Metadata), healthy: true });
  },
};

export function codecFor(layout: EtcdLayout): RecordCodec {
  return layout === 'go-grpc' ? goCodec : discoCodec;
}

/**
 * Reads one key/value under `<prefix><name>/`: the instance, undefined for a key that holds
 * none (a Go "Delete" update), or an InvalidRecordError to report.
 */
export function readEntry(codec: RecordCodec, keyPrefix: string, name: string, key: string, value: Buffer): Instance | undefined {
  const id = key.slice(keyPrefix.length);
  if (id === '') throw new InvalidRecordError(key, 'the key has no instance id after the service name');
  return codec.decode(key, name, id, value);
}
