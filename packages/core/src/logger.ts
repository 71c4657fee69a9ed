/** Anything with pino's shape: `logger.warn({ err, service }, 'message')` or `logger.warn('message')`. */
export interface Logger {
  debug(obj: unknown, msg?: string, ...args: unknown[]): void;
  info(obj: unknown, msg?: string, ...args: unknown[]): void;
  warn(obj: unknown, msg?: string, ...args: unknown[]): void;
  error(obj: unknown, msg?: string, ...args: unknown[]): void;
}

const noop = () => {};
/** The default: disco says nothing unless given a logger. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/**
 * Returns a function that replaces every occurrence of the given secrets with "[redacted]".
 * Providers run error messages from client libraries through it before they reach an event
 * or a log line, in case a library echoed a credential.
 */
export function createRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const values = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 3);
  if (values.length === 0) return (text) => text;
  return (text) => values.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
}
