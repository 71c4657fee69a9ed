import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { findBinary, LaunchedProcess, makeTempDir, removeDir } from './process-launcher.js';

/** Server-side TLS for the client port: file paths of PEM files. */
export interface EtcdTlsFiles {
  /** CA that signed `cert` (and the client certificates when `clientCertAuth`). */
  ca: string;
  cert: string;
  key: string;
  /** Demand a client certificate signed by `ca`. Default false. */
  clientCertAuth?: boolean;
  /** Client certificate and key used by the launcher itself (health checks, etcdctl) when `clientCertAuth`. */
  clientCert?: string;
  clientKey?: string;
}

export interface EtcdClusterOptions {
  /** 1 or 3 members. Default 1. */
  members?: 1 | 3;
  /** Serve the client port over TLS. Peers always talk plain HTTP on loopback. */
  tls?: EtcdTlsFiles;
  /** Extra flags for every member, e.g. `['--auto-compaction-retention=1']`. */
  extraArgs?: readonly string[];
  /**
   * Peers talk through TCP proxies on 127.0.0.1 that {@link EtcdCluster.partition} can cut
   * (Linux: each connection's origin member is found through /proc). Clients talk to the
   * members directly, so a partitioned member stays reachable. Default false.
   */
  partitionable?: boolean;
}

export interface EtcdMember {
  readonly name: string;
  /** `http://127.0.0.1:<port>` (or https:// with TLS). */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly process: LaunchedProcess;
}

/** Options for {@link EtcdCluster.etcdctl}. */
export interface EtcdctlOptions {
  /** Only these members' endpoints (default: all running members). */
  endpoints?: readonly string[];
  /** `user:password` for a cluster with auth enabled. */
  user?: string;
}

const readyTimeoutMs = 20_000;

/**
 * Real etcd servers for tests: one member or a three-member cluster on free loopback ports,
 * each with a temporary data directory, started and stopped by PID. A member can be stopped,
 * crashed and restarted on the same ports with the same data.
 */
export class EtcdCluster {
  readonly members: readonly EtcdMember[];
  readonly #tls: EtcdTlsFiles | undefined;
  readonly #proxies: readonly PeerProxy[];
  #stopped = false;

  private constructor(members: EtcdMember[], tls: EtcdTlsFiles | undefined, proxies: PeerProxy[] = []) {
    this.members = members;
    this.#tls = tls;
    this.#proxies = proxies;
  }

  /** Starts the members and resolves once every one reports healthy. */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const binary = findBinary('etcd', 'ETCD_BIN');
    const count = options.members ?? 1;
    const scheme = options.tls ? 'https' : 'http';
    const token = `disco-${randomBytes(4).toString('hex')}`;
    const ports: Array<{ client: number; peer: number }> = [];
    for (let i = 0; i < count; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const names = ports.map((_, i) => `m${i}`);
    // Partitionable: member i listens for peers on its own port and is known to the others by its proxy's.
    const members: EtcdMember[] = [];
    const proxies = options.partitionable ? await Promise.all(ports.map((p, i) => PeerProxy.start(i, p.peer, members))) : [];
    const advertised = (i: number) => `http://127.0.0.1:${proxies[i]?.port ?? ports[i]!.peer}`;
    const initialCluster = ports.map((_, i) => `${names[i]}=${advertised(i)}`).join(',');
    for (let i = 0; i < count; i++) {
      const { client, peer } = ports[i]!;
      const name = names[i]!;
      const clientUrl = `${scheme}://127.0.0.1:${client}`;
      const peerUrl = advertised(i);
      const listenPeerUrl = `http://127.0.0.1:${peer}`;
      const dataDir = makeTempDir(`etcd-${name}`);
      const args = [
        `--name=${name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${listenPeerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${token}`,
        '--logger=zap',
        '--log-level=warn',
        ...(options.tls
          ? [`--trusted-ca-file=${options.tls.ca}`, `--cert-file=${options.tls.cert}`, `--key-file=${options.tls.key}`, ...(options.tls.clientCertAuth ? ['--client-cert-auth'] : [])]
          : []),
        ...(options.extraArgs ?? []),
      ];
      const launched = new LaunchedProcess({
        name: `etcd member ${name}`,
        command: binary,
        args,
        ready: () => healthy(clientUrl, options.tls),
        readyTimeoutMs,
      });
      members.push({ name, clientUrl, peerUrl, dataDir, process: launched });
    }
    const cluster = new EtcdCluster(members, options.tls, proxies);
    try {
      // All at once: a member of a new cluster is healthy only once a quorum has elected a leader.
      await Promise.all(members.map((m) => m.process.start()));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Client URLs of all members, running or not. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  member(index: number): EtcdMember {
    const member = this.members[index];
    if (!member) throw new Error(`etcd cluster has ${this.members.length} member(s); there is no member ${index}`);
    return member;
  }

  /** Index of the member given its client URL (for "the member the watcher is connected to"). */
  indexOf(clientUrl: string): number {
    return this.members.findIndex((m) => m.clientUrl === clientUrl);
  }

  /** Stops a member (SIGTERM) and waits for it to exit. */
  async stopMember(index: number): Promise<void> {
    await this.member(index).process.stop();
  }

  /** SIGKILLs a member. */
  async crashMember(index: number): Promise<void> {
    await this.member(index).process.crash();
  }

  /** Starts a stopped member again on the same ports and data directory; resolves once it is healthy. */
  async restartMember(index: number): Promise<void> {
    await this.member(index).process.start();
  }

  /** Index of the current leader, asked of the running members. */
  async leader(): Promise<number> {
    const running = this.members.filter((m) => m.process.running);
    const out = await this.etcdctl(['endpoint', 'status', '--write-out=json'], { endpoints: running.map((m) => m.clientUrl) });
    const statuses = JSON.parse(out) as Array<{ Endpoint: string; Status: { header: { member_id: number | string }; leader: number | string } }>;
    for (const s of statuses) {
      if (String(s.Status.header.member_id) === String(s.Status.leader)) return this.indexOf(s.Endpoint);
    }
    throw new Error(`no etcd member reports itself as leader: ${out}`);
  }

  /** Resolves with the leader's index once a running member leads (after a crash, an election takes ~1-2 s). */
  async awaitLeader(timeoutMs = 15_000): Promise<number> {
    let found = -1;
    await waitFor(
      async () => {
        found = await this.leader();
        return found >= 0 && this.member(found).process.running;
      },
      { timeoutMs, intervalMs: 100, what: 'an etcd leader' },
    );
    return found;
  }

  /** Runs etcdctl (API v3) against the cluster and resolves with its stdout. */
  async etcdctl(args: readonly string[], options: EtcdctlOptions = {}): Promise<string> {
    const endpoints = options.endpoints ?? this.members.filter((m) => m.process.running).map((m) => m.clientUrl);
    const tls = this.#tls;
    const flags = [
      `--endpoints=${endpoints.join(',')}`,
      '--dial-timeout=3s',
      '--command-timeout=10s',
      ...(tls ? [`--cacert=${tls.ca}`, ...(tls.clientCert && tls.clientKey ? [`--cert=${tls.clientCert}`, `--key=${tls.clientKey}`] : [])] : []),
      ...(options.user ? [`--user=${options.user}`] : []),
    ];
    return new Promise((resolve, reject) => {
      execFile(findBinary('etcdctl', 'ETCDCTL_BIN'), [...flags, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`etcdctl ${args.join(' ')} failed: ${stderr || error.message}`));
        else resolve(stdout);
      });
    });
  }

  /**
   * Cuts member `index` off from the other members (a cluster started with `partitionable`):
   * raft traffic between it and them is dropped both ways — connections stay open, nothing
   * gets through, new ones hang — while clients still reach it. {@link heal} undoes it.
   */
  partition(index: number): void {
    if (this.#proxies.length === 0) throw new Error('partition() needs a cluster started with { partitionable: true }');
    this.member(index);
    for (const proxy of this.#proxies) proxy.cut(index);
  }

  /** Ends a {@link partition}: the cut connections are closed (peers dial again) and traffic flows. */
  heal(): void {
    for (const proxy of this.#proxies) proxy.cut(undefined);
  }

  /** Stops every member by PID and removes the data directories. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.members.map((m) => m.process.stop()));
    for (const proxy of this.#proxies) proxy.close();
    for (const m of this.members) removeDir(m.dataDir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

interface ProxiedConnection {
  readonly inbound: Socket;
  readonly outbound: Socket;
  /** Index of the member that dialled, once known; -1 when it cannot be found. */
  origin: number | undefined;
}

/**
 * The peer port of one member as the others see it: a TCP proxy on 127.0.0.1 that forwards to
 * the member's real peer port, unless the connection crosses a partition. Which member dialled
 * is read from /proc: the socket whose local port is the connection's remote port, and the
 * member process holding that socket.
 */
class PeerProxy {
  readonly #target: number;
  readonly #index: number;
  readonly #members: readonly EtcdMember[];
  readonly #server: Server;
  readonly #connections = new Set<ProxiedConnection>();
  #cut: number | undefined;

  private constructor(index: number, target: number, members: readonly EtcdMember[], server: Server) {
    this.#index = index;
    this.#target = target;
    this.#members = members;
    this.#server = server;
    server.on('connection', (socket) => this.#accept(socket));
  }

  static async start(index: number, target: number, members: readonly EtcdMember[]): Promise<PeerProxy> {
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new PeerProxy(index, target, members, server);
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Drops traffic between member `index` and the others (undefined: none). Healing closes what was cut. */
  cut(index: number | undefined): void {
    const healing = this.#cut !== undefined && index === undefined;
    this.#cut = index;
    for (const connection of this.#connections) {
      if (healing && connection.inbound.isPaused()) {
        connection.inbound.destroy();
        connection.outbound.destroy();
      } else if (this.#crosses(connection)) {
        connection.inbound.pause();
        connection.outbound.pause();
      }
    }
  }

  close(): void {
    this.#server.close();
    for (const connection of this.#connections) {
      connection.inbound.destroy();
      connection.outbound.destroy();
    }
  }

  /** Whether traffic on this connection crosses the partition (it joins the cut member and another). */
  #crosses(connection: ProxiedConnection): boolean {
    const cut = this.#cut;
    if (cut === undefined) return false;
    if (this.#index === cut) return true; // only other members dial a member's peer port
    return connection.origin === cut;
  }

  #accept(inbound: Socket): void {
    const outbound = connect(this.#target, '127.0.0.1');
    outbound.pause();
    const connection: ProxiedConnection = { inbound, outbound, origin: undefined };
    this.#connections.add(connection);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      this.#connections.delete(connection);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    // Data read while a connection is cut is dropped, as a partitioned network would.
    inbound.on('data', (chunk: Buffer) => {
      if (!this.#crosses(connection)) outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (!this.#crosses(connection)) inbound.write(chunk);
    });
    connection.origin = dialler(inbound.remotePort, this.port, this.#members);
    if (!this.#crosses(connection)) {
      inbound.resume();
      outbound.resume();
    }
  }
}

/** Index of the member process that holds the socket 127.0.0.1:`from` → 127.0.0.1:`to`; -1 if none (Linux /proc). */
function dialler(from: number | undefined, to: number, members: readonly EtcdMember[]): number {
  if (from === undefined) return -1;
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hex(from)}`;
  const remote = `0100007F:${hex(to)}`;
  let inode: string | undefined;
  try {
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[1] === local && fields[2] === remote) inode = fields[9];
    }
  } catch {
    return -1;
  }
  if (inode === undefined) return -1;
  const target = `socket:[${inode}]`;
  for (let i = 0; i < members.length; i++) {
    const pid = members[i]!.process.pid;
    if (pid === undefined) continue;
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return i;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process is gone
    }
  }
  return -1;
}

/** GET /health on the client port: `{"health":"true"}` once the member serves with a leader. */
function healthy(clientUrl: string, tls: EtcdTlsFiles | undefined): Promise<boolean> {
  const url = new URL('/health', clientUrl);
  return new Promise((resolve) => {
    const options = tls
      ? {
          ca: readFileSync(tls.ca),
          ...(tls.clientCert && tls.clientKey ? { cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) } : {}),
          timeout: 1_000,
        }
      : { timeout: 1_000 };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** A CA plus server and client certificates for 127.0.0.1, made with openssl in a temp directory. */
export interface TestCertificates {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  remove(): void;
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd, timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve();
    });
  });
}

/** Makes a throwaway CA and certificates with openssl (EC P-256, valid one day). */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const openssl = findBinary('openssl', 'OPENSSL_BIN');
  const dir = makeTempDir('certs');
  const file = (name: string) => join(dir, name);
  const key = (name: string) => run(openssl, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', name], dir);
  await key('ca.key');
  await run(openssl, ['req', '-x509', '-new', '-key', 'ca.key', '-days', '1', '-subj', '/CN=disco test CA', '-out', 'ca.crt'], dir);
  for (const [name, cn, usage] of [
    ['server', '127.0.0.1', 'serverAuth,clientAuth'],
    ['client', 'disco-client', 'clientAuth'],
  ] as const) {
    await key(`${name}.key`);
    // etcd wants PKCS#8 or SEC1; grpc-js accepts both. Keep SEC1 from ecparam.
    await run(openssl, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
    const ext = `${name}.ext`;
    writeFileSync(file(ext), `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\nkeyUsage=digitalSignature,keyEncipherment\n`);
    await run(openssl, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', `${name}.crt`], dir);
  }
  return {
    dir,
    ca: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    remove: () => removeDir(dir),
  };
}
