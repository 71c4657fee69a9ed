// How core shows a caller's value in an error message. JSON.stringify is not safe for that: it
// throws on a BigInt, a circular object or a hostile toJSON, walks a sparse array of length 1e9
// element by element, turns NaN into "null" and undefined into nothing at all.

const maxLength = 80;
const maxItems = 5;
const maxDepth = 2;

/**
 * A short rendering of any value for an error message: strings quoted, `10n`, `NaN`,
 * `undefined`, `Symbol(x)`, `[<empty>,"x"]`, `{"a":1,…}`. Never throws, does bounded work
 * whatever the value's size, hides the credentials of a URL (`http://[redacted]@host/`) and
 * cuts the result to about 80 characters (after redacting, so no piece of a secret is left).
 */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = render(value, 0);
  } catch {
    text = '[unprintable value]';
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

function render(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      // Cut before quoting (bounded work), redact before cutting (no half a password).
      return JSON.stringify(redactUrlCredentials(value.length > 4 * maxLength ? value.slice(0, 4 * maxLength) : value));
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return '[function]';
  }
  if (value === null) return 'null';
  const object = value as object;
  if (Array.isArray(object)) {
    if (depth >= maxDepth) return `[array of ${object.length}]`;
    const items: string[] = [];
    const shown = Math.min(object.length, maxItems);
    for (let i = 0; i < shown; i++) items.push(Object.hasOwn(object, i) ? render(object[i], depth + 1) : '<empty>');
    if (object.length > shown) items.push(`… ${object.length - shown} more`);
    return `[${items.join(',')}]`;
  }
  const proto: unknown = Object.getPrototypeOf(object);
  const kind = proto === Object.prototype || proto === null ? '' : `${Object.prototype.toString.call(object).slice(8, -1)} `;
  if (depth >= maxDepth) return `${kind}{…}`;
  const entries: string[] = [];
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    if (entries.length === maxItems) {
      entries.push('…');
      break;
    }
    entries.push(`${JSON.stringify(key)}:${render((object as Record<string, unknown>)[key], depth + 1)}`);
  }
  return `${kind}{${entries.join(',')}}`;
}

/** `scheme://user:password@host` → `scheme://[redacted]@host`. */
function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi, '$1[redacted]@');
}
