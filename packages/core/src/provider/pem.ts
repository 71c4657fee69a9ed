import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/**
 * PEM material, as every provider's `tls.ca` / `tls.cert` / `tls.key` takes it: a string holding
 * `-----BEGIN` is the PEM text itself; any other string is the path of a PEM file, read when the
 * provider is created; a Buffer/Uint8Array is PEM contents.
 */
export type PemSource = string | Uint8Array;

/**
 * Reads PEM material (see {@link PemSource}) and checks that it is a certificate (bundle) or a
 * private key, so that a wrong file is `ERR_CONFIG` naming the option and its variable instead of
 * a raw OpenSSL error from a TLS library. `option` is the option's name (`tls.ca`), `variable`
 * the environment variable that sets it (`CONSUL_CACERT`). The contents never appear in a message.
 */
export function readPem(source: PemSource, kind: 'certificate' | 'key', option: string, variable: string): Buffer {
  const what = `${option} (${variable})`;
  let pem: Buffer;
  if (typeof source === 'string' && source.includes('-----BEGIN')) pem = Buffer.from(source);
  else if (typeof source === 'string') {
    try {
      pem = readFileSync(source);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(`${what} names the file ${JSON.stringify(source)}, which cannot be read (${reason}); give a readable PEM file or the PEM text`, variable);
    }
    if (!pem.includes('-----BEGIN')) throw new ConfigError(`${what} names the file ${JSON.stringify(source)}, which holds no PEM ("-----BEGIN" missing)`, variable);
  } else if (source instanceof Uint8Array) {
    pem = Buffer.from(source);
    if (!pem.includes('-----BEGIN')) throw new ConfigError(`${what} is not PEM ("-----BEGIN" missing)`, variable);
  } else {
    throw new ConfigError(`${what} must be PEM text, the path of a PEM file, or a Buffer`, variable);
  }
  try {
    if (kind === 'key') createPrivateKey(pem);
    else new X509Certificate(pem);
  } catch (error) {
    throw new ConfigError(`${what} is not a readable PEM ${kind === 'key' ? 'private key' : 'certificate'} (${(error as NodeJS.ErrnoException).code ?? 'invalid'})`, variable);
  }
  return pem;
}
