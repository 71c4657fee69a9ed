import { readPem } from '@disco/core/provider';
import { connect } from 'node:tls';

export interface TlsReport {
  readonly endpoint: string;
  readonly ok: boolean;
  /** What the certificate is and until when, or why the connection or the verification failed. */
  readonly detail: string;
  /** Milliseconds the handshake took (when it completed). */
  readonly latencyMs?: number;
}

/**
 * Opens a TLS connection as the provider would (with the CA variable's certificate when set) and
 * reports whether the server's certificate verifies, whom it names and when it expires.
 */
export function checkTls(url: URL, caVariable: string | undefined, env: Readonly<Record<string, string | undefined>>, timeoutMs: number): Promise<TlsReport> {
  const endpoint = `${url.hostname}:${url.port || '443'}`;
  const caSource = caVariable ? env[caVariable] : undefined;
  const ca = caSource && caVariable ? readPem(caSource, 'certificate', 'tls.ca', caVariable) : undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(url.port || 443), servername: /^[\d.:]+$/.test(host) ? undefined : host, ca, rejectUnauthorized: false, timeout: timeoutMs });
    const done = (report: TlsReport) => {
      socket.destroy();
      resolve(report);
    };
    socket.once('secureConnect', () => {
      const latencyMs = performance.now() - started;
      const cert = socket.getPeerCertificate();
      const names = cert.subjectaltname ?? `CN=${cert.subject?.CN ?? '?'}`;
      const expires = new Date(cert.valid_to);
      const days = Math.floor((expires.getTime() - Date.now()) / 86_400_000);
      if (!socket.authorized) {
        const fix = caVariable ? `; set ${caVariable} to the CA that signed it` : '';
        return done({ endpoint, ok: false, latencyMs, detail: `certificate not trusted: ${String(socket.authorizationError)} (${names})${fix}` });
      }
      const soon = days < 14 ? ` — only ${days} day(s) left` : '';
      done({ endpoint, ok: days >= 0, latencyMs, detail: `certificate verified (${names}), valid until ${expires.toISOString().slice(0, 10)}${soon}` });
    });
    socket.once('timeout', () => done({ endpoint, ok: false, detail: `no TLS handshake within ${timeoutMs} ms` }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ endpoint, ok: false, detail: `TLS connection failed: ${error.code ?? ''} ${error.message}`.trim() }));
  });
}
