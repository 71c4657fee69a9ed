import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

type Body = Dispatcher.DispatchOptions['body'];

export interface PreparedBody {
  readonly body: Body;
  /** Whether the body can be sent a second time. */
  readonly replayable: boolean;
}

function isAsyncIterable(body: unknown): body is AsyncIterable<Uint8Array | string> {
  return typeof body === 'object' && body !== null && typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

/**
 * A request body that a retry can send again. Strings and bytes already are. A stream (which
 * is what `fetch` hands over for every body) is read ahead up to `maxBytes` and sent as bytes
 * (Envoy buffers a retriable request the same way); a longer one is sent as it came — what was
 * read, then the rest — and is not retried. Anything else (FormData) is sent as is, not retried.
 */
const noBody: PreparedBody = Object.freeze({ body: null, replayable: true });

export function prepareBody(body: Body, maxBytes: number): PreparedBody | Promise<PreparedBody> {
  if (body == null) return noBody;
  if (typeof body === 'string' || ArrayBuffer.isView(body)) return { body, replayable: true };
  if (!isAsyncIterable(body)) return { body, replayable: false };
  return readAhead(body, maxBytes);
}

async function readAhead(body: AsyncIterable<Uint8Array | string>, maxBytes: number): Promise<PreparedBody> {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { body: Buffer.concat(chunks, size), replayable: true };
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > maxBytes) return { body: Readable.from(rest(chunks, iterator), { objectMode: false }), replayable: false };
  }
}

async function* rest(read: readonly Buffer[], iterator: AsyncIterator<Uint8Array | string>): AsyncGenerator<Uint8Array | string> {
  let finished = false;
  try {
    yield* read;
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // The request stopped reading early: let the source release what it holds.
    if (!finished) await iterator.return?.();
  }
}
