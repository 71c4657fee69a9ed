import type { Dispatcher } from 'undici';

type Headers = Dispatcher.DispatchOptions['headers'];

function isPairs(headers: unknown[]): headers is [string, unknown][] {
  return Array.isArray(headers[0]);
}

/** The value of one request header (name in lower case) in any of the shapes undici accepts. */
export function headerValue(headers: Headers, name: string): string | undefined {
  if (headers == null) return undefined;
  if (Array.isArray(headers)) {
    if (isPairs(headers)) {
      for (const [key, value] of headers) if (key.toLowerCase() === name) return String(value);
      return undefined;
    }
    for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return headers[i + 1];
    return undefined;
  }
  if (isIterable(headers)) {
    for (const [key, value] of headers) if (key.toLowerCase() === name) return value === undefined ? undefined : String(value);
    return undefined;
  }
  for (const key in headers) if (key.toLowerCase() === name) return String(headers[key]);
  return undefined;
}

function isIterable(headers: object): headers is Iterable<[string, string | string[] | undefined]> {
  return typeof (headers as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

/** The headers with `host` set, unless the caller set one. A copy: the caller's object is not changed. */
export function withHost(headers: Headers, host: string): Headers {
  if (headers == null) return { host };
  if (headerValue(headers, 'host') !== undefined) return headers;
  if (Array.isArray(headers)) {
    if (isPairs(headers)) return [...(headers as [string, string | string[] | undefined][]), ['host', host]];
    return [...headers, 'host', host];
  }
  if (isIterable(headers)) return [...headers, ['host', host]];
  return { ...headers, host };
}
