// The double's TLS material: a throw-away CA and a server certificate for 127.0.0.1 and
// localhost signed by it, made with the openssl CLI (Node can parse certificates but not make
// them). client-go never sends a bearer token to an http:// server, so the double is HTTPS
// only, and the kubeconfig it writes carries this CA.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
  /** The CA certificate (PEM): what a client trusts. */
  readonly ca: string;
  /** The server certificate (PEM, signed by `ca`) and its key. */
  readonly cert: string;
  readonly key: string;
}

let made: Promise<TlsMaterial> | undefined;

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30_000 });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new Error('the Kubernetes API double needs the openssl command to make its TLS certificates (Debian: apt-get install openssl; ./run setup installs it)', { cause: error });
    throw new Error(`openssl ${args[0]} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`, { cause: error });
  }
}

async function make(): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'disco-k8s-tls-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=disco-double-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver'], dir);
    await writeFile(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
    await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '30', '-extfile', 'ext'], dir);
    const [ca, cert, key] = await Promise.all(['ca.crt', 'server.crt', 'server.key'].map((file) => readFile(join(dir, file), 'utf8')));
    return { ca: ca!, cert: cert!, key: key! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One CA and server certificate per process, shared by every double (made on first use). */
export function tlsMaterial(): Promise<TlsMaterial> {
  made ??= make().catch((error: unknown) => {
    made = undefined;
    throw error;
  });
  return made;
}
