import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
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
  #stopped = false;

  private constructor(members: EtcdMember[], tls: EtcdTlsFiles | undefined) {
    this.members = members;
    this.#tls = tls;
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
    const initialCluster = ports.map((p, i) => `${names[i]}=http://127.0.0.1:${p.peer}`).join(',');
    const members: EtcdMember[] = [];
    for (let i = 0; i < count; i++) {
      const { client, peer } = ports[i]!;
      const name = names[i]!;
      const clientUrl = `${scheme}://127.0.0.1:${client}`;
      const peerUrl = `http://127.0.0.1:${peer}`;
      const dataDir = makeTempDir(`etcd-${name}`);
      const args = [
        `--name=${name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
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
    const cluster = new EtcdCluster(members, options.tls);
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

  /** Stops every member by PID and removes the data directories. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.members.map((m) => m.process.stop()));
    for (const m of this.members) removeDir(m.dataDir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
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
