import { throwIfAborted } from '../abort.js';
import { ClosedError, ConfigError, type DiscoveryError, type InvalidRecordError } from '../errors.js';
import { Listeners } from '../listeners.js';
import { silentLogger } from '../logger.js';
import type { OperationOptions, Provider, ProviderEvent, RegisterOptions, Unsubscribe, WatchListener } from '../provider.js';
import type { ServiceSource } from '../provider/source.js';
import { WatchHub } from '../provider/watch-hub.js';
import { instanceFromService, type Instance, type Service } from '../service.js';
import { isPlainObject, validateService, validateServiceName } from '../validate.js';
import { StaticFile } from './static-file.js';
import { parseCompactInstances, parseStaticServices, type StaticServices } from './static-records.js';
import { describeValue } from '../describe-value.js';

export interface StaticProviderOptions {
  /** Fixed instances by service name. */
  services?: StaticServices;
  /** The compact form `name=host:port,host:port;name2=host:port` (DISCOVERY_STATIC_INSTANCES). */
  instances?: string;
  /** A JSON file of services, watched for changes (DISCOVERY_STATIC_FILE). */
  file?: string;
}

/**
 * Services from configuration, from a watched JSON file, and from in-process registration —
 * so local development and tests can register, discover and watch without any server.
 * Registered instances win over configured ones with the same id.
 */
export class StaticProvider implements Provider {
  readonly name = 'static';
  readonly capabilities = Object.freeze({ register: true, watch: true, serverHealthChecks: false });
  readonly #configured: Map<string, Instance[]>;
  #fromFile = new Map<string, Instance[]>();
  readonly #registered = new Map<string, Map<string, Instance>>();
  /** Followers of one name: told of each change, or of the file going bad (the engine does the rest). */
  readonly #followers = new Map<string, Listeners<DiscoveryError | undefined>>();
  readonly #events = new Listeners<ProviderEvent>();
  readonly #hub = new WatchHub({ provider: 'static', source: (name) => this.source(name), emit: (event) => this.#events.emit(event), logger: silentLogger });
  readonly #file: StaticFile | undefined;
  #fileReady: Promise<void> | undefined;
  #fileFailing = false;
  #closed = false;

  constructor(options: StaticProviderOptions = {}) {
    checkOptions(options);
    this.#configured = new Map();
    if (options.instances !== undefined) this.#configure(parseCompactInstances(options.instances), 'DISCOVERY_STATIC_INSTANCES');
    if (options.services !== undefined) this.#configure(options.services, 'static.services');
    if (options.file !== undefined) {
      this.#file = new StaticFile(
        options.file,
        ({ byName, problems, unreadable }) => {
          const before = this.#fromFile;
          // A name whose value is not a list at all keeps what it had; an entry that is bad is skipped.
          for (const name of unreadable) {
            const kept = before.get(name);
            if (kept) byName.set(name, kept);
          }
          this.#fromFile = byName;
          this.#fileFailing = false;
          for (const problem of problems) this.#report(problem);
          for (const name of new Set([...before.keys(), ...byName.keys()])) this.#notify(name);
        },
        (error) => {
          this.#report(error);
          // Watchers hear it once per bad stretch ("what you hold may be stale"), not once per bad write.
          if (this.#fileFailing) return;
          this.#fileFailing = true;
          for (const followers of this.#followers.values()) followers.emit(error);
        },
      );
    }
  }

  async register(service: Service, options: RegisterOptions = {}): Promise<void> {
    this.#assertOpen();
    const valid = validateService(service);
    throwIfAborted(options.signal, 'register');
    this.#removeId(valid.id, valid.name);
    let byId = this.#registered.get(valid.name);
    if (!byId) this.#registered.set(valid.name, (byId = new Map()));
    byId.set(valid.id, instanceFromService(valid, options.healthy ?? true));
    this.#notify(valid.name);
  }

  async deregister(serviceId: string, options: OperationOptions = {}): Promise<void> {
    this.#assertOpen();
    throwIfAborted(options.signal, 'deregister');
    this.#removeId(serviceId);
  }

  async discover(name: string, options: OperationOptions = {}): Promise<Instance[]> {
    this.#assertOpen();
    validateServiceName(name);
    throwIfAborted(options.signal, 'discover');
    return this.#hub.discover(name, options.signal);
  }

  watch(name: string, listener: WatchListener, options: OperationOptions = {}): Unsubscribe {
    this.#assertOpen();
    validateServiceName(name);
    throwIfAborted(options.signal, 'watch');
    return this.#hub.watch(name, listener, options.signal);
  }

  /** Every service with an instance in configuration, the file or a registration. */
  async listServices(options: OperationOptions = {}): Promise<string[]> {
    this.#assertOpen();
    throwIfAborted(options.signal, 'listServices');
    await this.#loadFile();
    const names = new Set([...this.#configured.keys(), ...this.#fromFile.keys(), ...this.#registered.keys()]);
    return [...names].filter((name) => this.#snapshot(name).length > 0);
  }

  /** The list is what configuration, the file and registrations hold; a follow hears each change. */
  source(name: string): ServiceSource {
    return {
      list: async () => {
        this.#assertOpen();
        await this.#loadFile();
        return { instances: this.#snapshot(name), position: 0 };
      },
      follow: (_position, sink, signal) =>
        new Promise((resolve) => {
          let followers = this.#followers.get(name);
          if (!followers) this.#followers.set(name, (followers = new Listeners()));
          const remove = followers.add((error) => (error ? sink.stale(error) : sink.replace(this.#snapshot(name))));
          const end = () => {
            remove();
            if (this.#followers.get(name)?.size === 0) this.#followers.delete(name);
            resolve('ended');
          };
          if (signal.aborted) end();
          else signal.addEventListener('abort', end, { once: true });
        }),
      // Nothing here can end or fail on its own: a follow lasts until it is stopped.
      resyncMs: 0,
    };
  }

  onEvent(listener: (event: ProviderEvent) => void): Unsubscribe {
    return this.#events.add(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#file?.close();
    await this.#hub.close();
    this.#followers.clear();
    this.#events.clear();
  }

  /** Configured services; any problem is an ERR_CONFIG naming where they came from. */
  #configure(services: unknown, where: string): void {
    const { byName, problems } = parseStaticServices(services, where);
    if (problems.length > 0) throw new ConfigError(`static provider: ${problems.map((p) => p.message).join('; ')}`, where);
    for (const [name, instances] of byName) this.#configured.set(name, instances);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('static provider');
  }

  #loadFile(): Promise<void> {
    if (!this.#file) return Promise.resolve();
    this.#fileReady ??= this.#file.start();
    return this.#fileReady;
  }

  #snapshot(name: string): Instance[] {
    const byId = new Map<string, Instance>();
    for (const instance of this.#configured.get(name) ?? []) byId.set(instance.id, instance);
    for (const instance of this.#fromFile.get(name) ?? []) byId.set(instance.id, instance);
    for (const instance of this.#registered.get(name)?.values() ?? []) byId.set(instance.id, instance);
    return [...byId.values()];
  }

  #removeId(id: string, keepName?: string): void {
    for (const [name, byId] of this.#registered) {
      if (name !== keepName && byId.delete(id)) this.#notify(name);
    }
  }

  #notify(name: string): void {
    this.#followers.get(name)?.emit(undefined);
  }

  #report(error: InvalidRecordError): void {
    this.#events.emit({ type: 'invalid-record', message: error.message, error });
  }
}

const optionKeys = new Set(['services', 'instances', 'file']);

function checkOptions(options: unknown): asserts options is StaticProviderOptions {
  if (!isPlainObject(options)) throw new ConfigError(`static provider options must be an object; got ${describeValue(options)}`, 'static');
  for (const key of Object.keys(options)) {
    if (!optionKeys.has(key)) throw new ConfigError(`static provider: unknown option ${describeValue(key)} (known: services, instances, file)`, `static.${key}`);
  }
  if (options.instances !== undefined && typeof options.instances !== 'string') throw new ConfigError(`static.instances (DISCOVERY_STATIC_INSTANCES) must be a string such as users=10.0.0.1:8080; got ${describeValue(options.instances)}`, 'DISCOVERY_STATIC_INSTANCES');
  if (options.file !== undefined && !(typeof options.file === 'string' && options.file.trim() !== '' && !options.file.includes('\0'))) {
    throw new ConfigError(`static.file (DISCOVERY_STATIC_FILE) must be the path of a JSON file; got ${describeValue(options.file)}`, 'DISCOVERY_STATIC_FILE');
  }
}

export function staticProvider(options: StaticProviderOptions = {}): StaticProvider {
  return new StaticProvider(options);
}
