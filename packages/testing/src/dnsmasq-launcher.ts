import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UDPClient } from 'dns2';
import { freePort, waitFor } from './ports.js';
import { findBinary, LaunchedProcess, makeTempDir, removeDir } from './process-launcher.js';

const sentinel = 'generation.dnsmasq.invalid';
const generationAddress = (n: number) => `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** An SRV record; without `target` it is RFC 2782's "." (the service is not available). */
export interface DnsmasqSrv {
  /** `_web._tcp.disco.test`, or Consul's form `web.service.disco.test`. */
  name: string;
  target?: string;
  port?: number;
  priority?: number;
  weight?: number;
}

/** Address records of one host name (served from an addn-hosts file). */
export interface DnsmasqHost {
  name: string;
  addresses: readonly string[];
}

export interface DnsmasqRecords {
  srv?: readonly DnsmasqSrv[];
  hosts?: readonly DnsmasqHost[];
}

export interface DnsmasqOptions {
  /** TTL of every answer, in seconds (dnsmasq's `--local-ttl`; without it SRV answers carry 0). Default 1. */
  ttl?: number;
  /** Domains answered authoritatively: unknown names there are NXDOMAIN, not REFUSED. Default `["disco.test"]`. */
  domains?: readonly string[];
}

/**
 * A real dnsmasq (Debian's `dnsmasq-base`) on 127.0.0.1 and a free high port, serving records
 * the test chooses and can change. Host records live in an `addn-hosts` file, which dnsmasq
 * re-reads on SIGHUP, so address changes need no restart; SRV records (`srv-host`) are read
 * only at start-up, so changing them restarts dnsmasq on the same port (queries in that
 * instant go unanswered). Never touches port 53; stopped by PID.
 */
export class Dnsmasq {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly #dir: string;
  readonly #process: LaunchedProcess;
  readonly #domains: readonly string[];
  readonly #ask: ReturnType<typeof UDPClient>;
  #records: DnsmasqRecords;
  /** Bumped on every write and served as the address of {@link sentinel}, to tell when a reload took effect. */
  #generation = 0;

  private constructor(port: number, records: DnsmasqRecords, options: DnsmasqOptions) {
    this.port = port;
    this.#records = records;
    this.#domains = options.domains ?? ['disco.test'];
    this.#dir = makeTempDir('dnsmasq');
    // dnsmasq reads the hosts file after dropping root for "nobody".
    chmodSync(this.#dir, 0o755);
    this.#ask = UDPClient({ dns: this.host, port, timeout: 250, retryOverTCP: false });
    this.#process = new LaunchedProcess({
      name: `dnsmasq on ${this.host}:${port}`,
      command: findBinary('dnsmasq', 'DNSMASQ_BIN'),
      args: [
        '--no-resolv',
        '--no-hosts',
        '--keep-in-foreground',
        '--bind-interfaces',
        `--listen-address=${this.host}`,
        `--port=${port}`,
        `--local-ttl=${options.ttl ?? 1}`,
        `--pid-file=${join(this.#dir, 'dnsmasq.pid')}`,
        `--conf-file=${join(this.#dir, 'dnsmasq.conf')}`,
      ],
      ready: () => this.#serving(),
    });
  }

  /** Starts dnsmasq serving `records`. */
  static async start(records: DnsmasqRecords = {}, options: DnsmasqOptions = {}): Promise<Dnsmasq> {
    const server = new Dnsmasq(await freePort(), records, options);
    server.#write();
    try {
      await server.#process.start();
    } catch (error) {
      removeDir(server.#dir);
      throw error;
    }
    return server;
  }

  /** `127.0.0.1:<port>`, the form `DNS_SERVER` takes. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.#process.running;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get records(): DnsmasqRecords {
    return this.#records;
  }

  /**
   * Serves `records` from now on: a SIGHUP when only host records changed, else a restart
   * on the same port. Resolves once the new records are served.
   */
  async setRecords(records: DnsmasqRecords): Promise<void> {
    const srvChanged = JSON.stringify(records.srv ?? []) !== JSON.stringify(this.#records.srv ?? []);
    this.#records = records;
    this.#write();
    if (!this.running) return;
    if (srvChanged) {
      await this.#process.stop();
      await this.#process.start();
    } else {
      this.#process.signal('SIGHUP');
      await waitFor(() => this.#serving(), { timeoutMs: 5_000, what: 'dnsmasq to re-read its hosts file' });
    }
  }

  /** Stops the server (the port stays reserved for {@link start} again). */
  async stop(): Promise<void> {
    await this.#process.stop();
  }

  /** Starts it again on the same port with the current records. */
  async restart(): Promise<void> {
    await this.#process.start();
  }

  /** Stops it and removes its files. */
  async close(): Promise<void> {
    await this.#process.stop();
    removeDir(this.#dir);
  }

  /** True once dnsmasq answers with the records of the last write. */
  async #serving(): Promise<boolean> {
    const answer = await this.#ask(sentinel, 'A');
    return answer.answers.some((r) => r.address === generationAddress(this.#generation));
  }

  #write(): void {
    this.#generation++;
    const lines = this.#domains.map((d) => `local=/${d}/`);
    for (const srv of this.#records.srv ?? []) {
      const fields = srv.target === undefined ? [srv.name] : [srv.name, srv.target, srv.port ?? 0, srv.priority ?? 0, srv.weight ?? 0];
      lines.push(`srv-host=${fields.join(',')}`);
    }
    const hostsFile = join(this.#dir, 'hosts');
    lines.push(`addn-hosts=${hostsFile}`);
    const hosts = (this.#records.hosts ?? []).flatMap((h) => h.addresses.map((a) => `${a} ${h.name}`));
    hosts.push(`${generationAddress(this.#generation)} ${sentinel}`);
    writeFileSync(hostsFile, hosts.join('\n') + '\n');
    writeFileSync(join(this.#dir, 'dnsmasq.conf'), lines.join('\n') + '\n');
  }
}
