import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { InvalidRecordError } from '../errors.js';
import type { Instance } from '../service.js';
import { parseStaticServices } from './static-records.js';

export interface StaticFileContent {
  byName: Map<string, Instance[]>;
  problems: InvalidRecordError[];
}

/**
 * A JSON file of services — `{ "services": { "name": [instances] } }` or just the inner map —
 * read now and again on every change. The directory is watched (not the file), so editors
 * that replace the file by renaming are seen too.
 */
export class StaticFile {
  readonly path: string;
  readonly #onChange: (content: StaticFileContent) => void;
  readonly #onError: (error: InvalidRecordError) => void;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #last = '';

  constructor(path: string, onChange: (content: StaticFileContent) => void, onError: (error: InvalidRecordError) => void) {
    this.path = resolve(path);
    this.#onChange = onChange;
    this.#onError = onError;
  }

  /** Reads the file once and starts watching it. */
  async start(): Promise<void> {
    await this.#reload();
    const name = basename(this.path);
    this.#watcher = watch(dirname(this.path), (_event, file) => {
      if (file !== null && file !== name) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => void this.#reload(), 30);
    });
    this.#watcher.on('error', (error) => this.#onError(new InvalidRecordError(this.path, `cannot watch: ${error.message}`, { cause: error })));
  }

  close(): void {
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  async #reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      this.#onError(new InvalidRecordError(this.path, `cannot read: ${(error as Error).message}; keeping the last good content`, { cause: error }));
      return;
    }
    if (text === this.#last) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      this.#onError(new InvalidRecordError(this.path, `not valid JSON (${(error as Error).message}); keeping the last good content`, { cause: error }));
      return;
    }
    this.#last = text;
    const services = typeof json === 'object' && json !== null && 'services' in json ? (json as { services: unknown }).services : json;
    this.#onChange(parseStaticServices(services, this.path));
  }
}
