import { tryParseDuration } from '@disco/core';
import type { CheckDefinition, CheckStatus, ConsulCheck, ConsulNode, ConsulService, ServiceEntry } from './types.js';

/** A service as registered, before indexes are stamped on it. */
export type ServiceInput = Omit<ConsulService, 'CreateIndex' | 'ModifyIndex' | 'Namespace'>;

interface CheckRecord {
  readonly ns: string;
  def: CheckDefinition;
  serviceName: string;
  serviceTags: string[];
  status: CheckStatus;
  output: string;
  type: string;
  createIndex: number;
  modifyIndex: number;
  /** When the check last became critical (Date.now()), for the reaper. */
  criticalSince: number | undefined;
}

interface ServiceRecord {
  readonly ns: string;
  service: ConsulService;
}

const maintenancePrefix = '_service_maintenance:';

/**
 * The catalog and agent state of one Consul agent (with its server): services and checks per
 * namespace, and the Raft index that blocking queries wait on. Every write bumps the index
 * and wakes the waiters; a write that changes nothing (an idempotent re-registration) does not,
 * as in Consul, where anti-entropy only syncs differences.
 */
export class ConsulRegistry {
  readonly node: ConsulNode;
  #index: number;
  /** Index of the last change per `${ns}/${serviceName}`. */
  #nameIndex = new Map<string, number>();
  /** Index of the last change to any service (what Consul answers for an unknown name). */
  #servicesIndex: number;
  /** Index of the services table: registrations and deregistrations, not check status (`/v1/catalog/services`). */
  #catalogIndex: number;
  /** Index of the checks table: any check added, changed or removed (`/v1/health/state/:state`). */
  #checksIndex: number;
  #services = new Map<string, ServiceRecord>();
  #checks = new Map<string, CheckRecord>();
  /** `${ns}/${name}` → keys of its services, so a read of one name does not walk the catalog. */
  #byName = new Map<string, Set<string>>();
  /** `${ns}/${serviceId}` → keys of its checks. */
  #byService = new Map<string, Set<string>>();
  #waiters = new Set<() => void>();

  constructor(options: { node: string; address: string; datacenter: string; initialIndex: number }) {
    this.#index = options.initialIndex;
    this.#servicesIndex = options.initialIndex;
    this.#catalogIndex = options.initialIndex;
    this.#checksIndex = options.initialIndex;
    this.node = {
      ID: '40e4a748-2192-161a-0510-9bf59fe950b5',
      Node: options.node,
      Address: options.address,
      Datacenter: options.datacenter,
      TaggedAddresses: { lan: options.address, wan: options.address },
      Meta: { 'consul-network-segment': '' },
      CreateIndex: 1,
      ModifyIndex: 1,
    };
  }

  get index(): number {
    return this.#index;
  }

  /**
   * Fault hook: moves the Raft index to `index` (a restored snapshot or a new cluster makes it
   * go backwards). Every per-service index above it comes down with it.
   */
  setIndex(index: number): void {
    this.#index = index;
    for (const [key, value] of this.#nameIndex) if (value > index) this.#nameIndex.set(key, index);
    if (this.#servicesIndex > index) this.#servicesIndex = index;
    if (this.#catalogIndex > index) this.#catalogIndex = index;
    if (this.#checksIndex > index) this.#checksIndex = index;
    this.#wake();
  }

  /** The X-Consul-Index of `/v1/health/service/:name`. */
  indexFor(ns: string, name: string): number {
    return this.#nameIndex.get(`${ns}/${name}`) ?? this.#servicesIndex;
  }

  /** Calls `listener` after every write until the returned function is called. */
  onWrite(listener: () => void): () => void {
    this.#waiters.add(listener);
    return () => this.#waiters.delete(listener);
  }

  /**
   * Upserts a service and its checks. Checks that keep their ID keep their status (a repeated
   * registration does not flap health). With `replaceExistingChecks`, the service's checks
   * missing from this registration are removed. Returns the checks to start and to stop.
   */
  register(ns: string, input: ServiceInput, checks: CheckDefinition[], replaceExistingChecks: boolean): { started: CheckDefinition[]; stopped: string[] } {
    let changed = false;
    // One registration is one catalog write (Consul's anti-entropy sends the service and its
    // checks in one Catalog.Register): everything it changes carries the same Raft index.
    let writeIndex: number | undefined;
    const write = () => (writeIndex ??= this.#bump());
    const key = `${ns}/${input.ID}`;
    const existing = this.#services.get(key);
    const stopped: string[] = [];
    if (existing && existing.service.Service !== input.Service) {
      // Same ID under a new name: the old name loses the instance.
      this.#byName.get(`${ns}/${existing.service.Service}`)?.delete(key);
      this.#touchName(ns, existing.service.Service);
    }
    if (!existing || JSON.stringify(strip(existing.service)) !== JSON.stringify(input)) {
      const index = write();
      this.#catalogIndex = index;
      const service: ConsulService = { ...input, CreateIndex: existing?.service.CreateIndex ?? index, ModifyIndex: index };
      if (ns !== 'default') service.Namespace = ns;
      this.#services.set(key, { ns, service });
      let names = this.#byName.get(`${ns}/${input.Service}`);
      if (!names) this.#byName.set(`${ns}/${input.Service}`, (names = new Set()));
      names.add(key);
      changed = true;
    }
    const wanted = new Set(checks.map((c) => c.CheckID));
    if (replaceExistingChecks) {
      for (const checkKey of [...(this.#byService.get(key) ?? [])]) {
        const record = this.#checks.get(checkKey)!;
        if (!wanted.has(record.def.CheckID)) {
          this.#deleteCheck(checkKey);
          stopped.push(record.def.CheckID);
          this.#checksIndex = write();
          changed = true;
        }
      }
    }
    const started: CheckDefinition[] = [];
    for (const def of checks) {
      const checkKey = `${ns}/${def.CheckID}`;
      const old = this.#checks.get(checkKey);
      const type = checkType(def);
      if (old && JSON.stringify(old.def) === JSON.stringify(def) && old.serviceName === input.Service && JSON.stringify(old.serviceTags) === JSON.stringify(input.Tags)) continue;
      const index = write();
      this.#checksIndex = index;
      const status = old && old.type === type ? old.status : def.Status;
      if (old) this.#deleteCheck(checkKey);
      this.#setCheck(checkKey, {
        ns,
        def,
        serviceName: input.Service,
        serviceTags: input.Tags,
        status,
        output: old?.output ?? '',
        type,
        createIndex: old?.createIndex ?? index,
        modifyIndex: index,
        criticalSince: status === 'critical' ? (old?.criticalSince ?? Date.now()) : undefined,
      });
      if (old) stopped.push(def.CheckID);
      started.push(def);
      changed = true;
    }
    if (changed) this.#touchName(ns, input.Service);
    return { started, stopped };
  }

  /** Removes a service and its checks; returns the removed check IDs, or undefined if absent. */
  deregister(ns: string, serviceId: string): string[] | undefined {
    const key = `${ns}/${serviceId}`;
    const record = this.#services.get(key);
    if (!record) return undefined;
    this.#services.delete(key);
    this.#byName.get(`${ns}/${record.service.Service}`)?.delete(key);
    const removed: string[] = [];
    for (const checkKey of [...(this.#byService.get(key) ?? [])]) {
      removed.push(this.#checks.get(checkKey)!.def.CheckID);
      this.#deleteCheck(checkKey);
    }
    const index = this.#bump();
    this.#catalogIndex = index;
    if (removed.length > 0) this.#checksIndex = index;
    this.#touchName(ns, record.service.Service);
    return removed;
  }

  hasService(ns: string, serviceId: string): boolean {
    return this.#services.has(`${ns}/${serviceId}`);
  }

  check(ns: string, checkId: string): Readonly<CheckRecord> | undefined {
    return this.#checks.get(`${ns}/${checkId}`);
  }

  /** Sets a check's status and output; only a status change is a catalog write. False if unknown. */
  updateCheck(ns: string, checkId: string, status: CheckStatus, output: string): boolean {
    const record = this.#checks.get(`${ns}/${checkId}`);
    if (!record) return false;
    record.output = output;
    if (record.status === status) return true;
    record.status = status;
    record.criticalSince = status === 'critical' ? Date.now() : undefined;
    record.modifyIndex = this.#bump();
    this.#checksIndex = record.modifyIndex;
    this.#touchName(ns, record.serviceName);
    return true;
  }

  /** Consul's service maintenance mode: a critical `_service_maintenance:<id>` check. */
  setMaintenance(ns: string, serviceId: string, enable: boolean, reason: string): boolean {
    const record = this.#services.get(`${ns}/${serviceId}`);
    if (!record) return false;
    const checkId = `${maintenancePrefix}${serviceId}`;
    const key = `${ns}/${checkId}`;
    if (!enable) {
      if (this.#checks.has(key)) {
        this.#deleteCheck(key);
        this.#checksIndex = this.#bump();
        this.#touchName(ns, record.service.Service);
      }
      return true;
    }
    if (this.#checks.has(key)) return true;
    const index = this.#bump();
    this.#checksIndex = index;
    this.#setCheck(key, {
      ns,
      def: {
        CheckID: checkId,
        Name: 'Service Maintenance Mode',
        Notes: reason || 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.',
        ServiceID: serviceId,
        Status: 'critical',
        SuccessBeforePassing: 0,
        FailuresBeforeCritical: 0,
      },
      serviceName: record.service.Service,
      serviceTags: record.service.Tags,
      status: 'critical',
      output: '',
      type: 'maintenance',
      createIndex: index,
      modifyIndex: index,
      criticalSince: undefined, // maintenance never reaps
    });
    this.#touchName(ns, record.service.Service);
    return true;
  }

  /** Services whose check with a DeregisterCriticalServiceAfter has been critical for longer than it (clamped to `minimumMs`). */
  expiredServices(now: number, minimumMs: number, parse: (d: string) => number | undefined): { ns: string; serviceId: string }[] {
    const out: { ns: string; serviceId: string }[] = [];
    for (const record of this.#checks.values()) {
      const after = record.def.DeregisterCriticalServiceAfter;
      if (after === undefined || record.criticalSince === undefined || record.status !== 'critical') continue;
      const ms = parse(after);
      if (ms === undefined || ms <= 0) continue;
      if (now - record.criticalSince >= Math.max(ms, minimumMs)) out.push({ ns: record.ns, serviceId: record.def.ServiceID });
    }
    return out;
  }

  /** Rows of `/v1/health/service/:name`, node check first, sorted by service ID. */
  serviceEntries(ns: string, name: string): ServiceEntry[] {
    const rows: ServiceEntry[] = [];
    for (const key of this.#byName.get(`${ns}/${name}`) ?? []) {
      const record = this.#services.get(key)!;
      const checks = [this.#serfHealth()];
      for (const checkKey of this.#byService.get(key) ?? []) checks.push(this.#render(this.#checks.get(checkKey)!));
      rows.push({ Node: { ...this.node }, Service: structuredClone(record.service), Checks: checks });
    }
    return rows.sort((a, b) => (a.Service.ID < b.Service.ID ? -1 : a.Service.ID > b.Service.ID ? 1 : 0));
  }

  /** `/v1/agent/services`: ID → service. */
  agentServices(ns: string): Record<string, ConsulService> {
    const out: Record<string, ConsulService> = {};
    for (const record of this.#services.values()) if (record.ns === ns) out[record.service.ID] = structuredClone(record.service);
    return out;
  }

  /** `/v1/agent/checks`: CheckID → check. */
  agentChecks(ns: string): Record<string, ConsulCheck> {
    const out: Record<string, ConsulCheck> = {};
    for (const check of this.#checks.values()) if (check.ns === ns) out[check.def.CheckID] = this.#render(check);
    return out;
  }

  /** `/v1/catalog/services`: name → union of tags. */
  catalogServices(ns: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const record of this.#services.values()) {
      if (record.ns !== ns) continue;
      const tags = new Set(out[record.service.Service] ?? []);
      for (const tag of record.service.Tags) tags.add(tag);
      out[record.service.Service] = [...tags].sort();
    }
    return out;
  }

  get servicesIndex(): number {
    return this.#servicesIndex;
  }

  /** The X-Consul-Index of `/v1/catalog/services`: the services table, which check status does not move. */
  get catalogIndex(): number {
    return this.#catalogIndex;
  }

  /** The X-Consul-Index of `/v1/health/state/:state`: the checks table. */
  get checksIndex(): number {
    return this.#checksIndex;
  }

  /** `/v1/health/state/:state`: every check (the node's included) in that state, or all for `any`. */
  checksInState(ns: string, state: 'any' | CheckStatus): ConsulCheck[] {
    const out: ConsulCheck[] = [];
    const serf = this.#serfHealth();
    if (state === 'any' || state === serf.Status) out.push(serf);
    for (const check of this.#checks.values()) if (check.ns === ns && (state === 'any' || check.status === state)) out.push(this.#render(check));
    return out;
  }

  /** `/v1/catalog/service/:name` rows and `/v1/catalog/services` both come from the services of a name. */
  serviceNames(ns: string): string[] {
    const out: string[] = [];
    for (const [key, ids] of this.#byName) if (ids.size > 0 && key.startsWith(`${ns}/`)) out.push(key.slice(ns.length + 1));
    return out;
  }

  #setCheck(key: string, record: CheckRecord): void {
    this.#checks.set(key, record);
    const owner = `${record.ns}/${record.def.ServiceID}`;
    let keys = this.#byService.get(owner);
    if (!keys) this.#byService.set(owner, (keys = new Set()));
    keys.add(key);
  }

  #deleteCheck(key: string): void {
    const record = this.#checks.get(key);
    if (!record) return;
    this.#checks.delete(key);
    this.#byService.get(`${record.ns}/${record.def.ServiceID}`)?.delete(key);
  }

  #render(check: CheckRecord): ConsulCheck {
    const out: ConsulCheck = {
      Node: this.node.Node,
      CheckID: check.def.CheckID,
      Name: check.def.Name,
      Status: check.status,
      Notes: check.def.Notes,
      Output: check.output,
      ServiceID: check.def.ServiceID,
      ServiceName: check.serviceName,
      ServiceTags: [...check.serviceTags],
      Type: check.type,
      Interval: goDuration(check.def.Interval),
      Timeout: goDuration(check.def.Timeout),
      CreateIndex: check.createIndex,
      ModifyIndex: check.modifyIndex,
    };
    if (check.ns !== 'default') out.Namespace = check.ns;
    return out;
  }

  #serfHealth(): ConsulCheck {
    return {
      Node: this.node.Node,
      CheckID: 'serfHealth',
      Name: 'Serf Health Status',
      Status: 'passing',
      Notes: '',
      Output: 'Agent alive and reachable',
      ServiceID: '',
      ServiceName: '',
      ServiceTags: [],
      Type: '',
      Interval: '',
      Timeout: '',
      CreateIndex: 1,
      ModifyIndex: 1,
    };
  }

  #bump(): number {
    return ++this.#index;
  }

  #touchName(ns: string, name: string): void {
    this.#nameIndex.set(`${ns}/${name}`, this.#index);
    this.#servicesIndex = this.#index;
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** A duration as Go's time.Duration.String() prints it ("10s", "1m30s", "1h30m0s", "500ms"), as Consul renders check fields. */
function goDuration(text: string | undefined): string {
  const ms = tryParseDuration(text);
  if (text === undefined || ms === undefined || ms === 0) return '';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = `${Number(((ms % 60_000) / 1000).toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

function strip(service: ConsulService): ServiceInput {
  const { CreateIndex: _c, ModifyIndex: _m, Namespace: _n, ...rest } = service;
  return rest;
}

function checkType(def: CheckDefinition): string {
  if (def.HTTP !== undefined) return 'http';
  if (def.TCP !== undefined) return 'tcp';
  if (def.GRPC !== undefined) return 'grpc';
  if (def.TTL !== undefined) return 'ttl';
  return '';
}
