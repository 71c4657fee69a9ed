import { readFile as readFileCallback, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { describeValue } from '../describe-value.js';
import { ConfigError, InvalidRecordError } from '../errors.js';
import { isPlainObject } from '../validate.js';
import { parseStaticServices, type ParsedStaticServices } from './static-records.js';

export type StaticFileContent = ParsedStaticServices;

const shape = 'expected {"services": {"<name>": [instances]}} or {"<name>": [instances]}';

/**
 * Reads the text of a static file: `{ "services": { "name": [instances] } }`, or just the
 * inner map (then a service called "services" must use the outer form). A document that is
 * not JSON, or not one of these two shapes (`[]`, `42`, `{"services": 5}`), is one
 * `InvalidRecordError` naming the file: the whole edit is invalid. Bad entries inside a good
 * document are `problems`, and the rest is served. Never throws.
 */
export function parseStaticFile(text: string, path: string): StaticFileContent | InvalidRecordError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return new InvalidRecordError(path, `not valid JSON (${(error as Error).message}); keeping the last good content`, { cause: error });
  }
  if (!isPlainObject(json)) return new InvalidRecordError(path, `${shape}; got ${describeValue(json)}; keeping the last good content`);
  const services = Object.hasOwn(json, 'services') ? json.services : json;
  if (!isPlainObject(services)) return new InvalidRecordError(path, `${shape}; "services" is ${describeValue(services)}; keeping the last good content`);
  return parseStaticServices(services, path);
}

/**
 * A JSON file of services (see {@link parseStaticFile}), read now and again on every change.
 * The directory is watched (not the file), so editors that replace the file by renaming are
 * seen too. An invalid edit goes to `onError` and changes nothing: the last good content stays.
 */
export class StaticFile {
  readonly path: string;
  readonly #onChange: (content: StaticFileContent) => void;
  readonly #onError: (error: InvalidRecordError) => void;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  /** Reads one after another: an older read never lands after a newer one. */
  #reading: Promise<void> = Promise.resolve();
  #last: string | undefined;
  /** The last read failed: the next good one is delivered even if its text is the last good text. */
  #failing = false;
  #closed = false;

  constructor(path: string, onChange: (content: StaticFileContent) => void, onError: (error: InvalidRecordError) => void) {
    this.path = resolve(path);
    this.#onChange = onChange;
    this.#onError = onError;
  }

  /** Reads the file once and starts watching it; `ERR_CONFIG` when its directory cannot be watched. */
  async start(): Promise<void> {
    await this.#reload();
    if (this.#closed) return;
    const name = basename(this.path);
    try {
      this.#watcher = watch(dirname(this.path), (_event, file) => {
        if (file !== null && file !== name) return;
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => void this.#reload(), 30);
      });
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ConfigError(`static file ${describeValue(this.path)} (DISCOVERY_STATIC_FILE): its directory cannot be watched (${reason})`, 'DISCOVERY_STATIC_FILE');
    }
    this.#watcher.on('error', (error) => this.#onError(new InvalidRecordError(this.path, `cannot watch: ${error.message}`, { cause: error })));
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #reload(): Promise<void> {
    this.#reading = this.#reading.then(() => this.#read());
    return this.#reading;
  }

  async #read(): Promise<void> {
    if (this.#closed) return;
    let text: string;
    try {
      // The callback form: node:fs/promises would cost every importer of core its load time.
      text = await new Promise<string>((resolve, reject) => readFileCallback(this.path, 'utf8', (error, data) => (error ? reject(error) : resolve(data))));
    } catch (error) {
      if (!this.#closed) this.#fail(new InvalidRecordError(this.path, `cannot read: ${(error as Error).message}; keeping the last good content`, { cause: error }));
      return;
    }
    if (this.#closed || (text === this.#last && !this.#failing)) return;
    const content = parseStaticFile(text, this.path);
    if (content instanceof InvalidRecordError) {
      this.#fail(content);
      return;
    }
    this.#last = text;
    this.#failing = false;
    this.#onChange(content);
  }

  #fail(error: InvalidRecordError): void {
    this.#failing = true;
    this.#onError(error);
  }
}
