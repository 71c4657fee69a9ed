/**
 * The part of Consul's filter language (go-bexpr) that service queries use:
 * `==`, `!=`, `contains`, `not contains`, `in`, `not in`, `is empty`, `is not empty`,
 * `matches`, `not matches`, combined with `and`, `or`, `not` and parentheses. Selectors are
 * dotted paths (`Service.Meta.version`, `Service.Tags`, `Checks.Status`); through an array of
 * objects they yield the list of that field. A bad expression throws with Consul's wording.
 */
export type Predicate = (value: unknown) => boolean;

type Token = { kind: 'word' | 'string' | 'op' | 'paren'; text: string };

/** The selectors each endpoint's rows offer (Consul's filtering docs, per endpoint). */
export const selectors = {
  /** `/v1/health/service/:name` rows. */
  health: ['Node', 'Service', 'Checks'],
  /** `/v1/agent/services` values (AgentService). */
  agentService: ['ID', 'Service', 'Tags', 'Address', 'Meta', 'Port', 'Weights', 'EnableTagOverride', 'Kind', 'TaggedAddresses', 'Proxy', 'Connect', 'Namespace', 'Datacenter'],
  /** `/v1/agent/checks` values and `/v1/health/state/:state` rows (HealthCheck). */
  check: ['Node', 'CheckID', 'Name', 'Status', 'Notes', 'Output', 'ServiceID', 'ServiceName', 'ServiceTags', 'Type', 'Interval', 'Timeout', 'Namespace', 'CreateIndex', 'ModifyIndex'],
  /** `/v1/catalog/service/:name` rows and what `/v1/catalog/services` filters (ServiceNode). */
  catalog: ['ID', 'Node', 'Address', 'Datacenter', 'TaggedAddresses', 'NodeMeta', 'ServiceKind', 'ServiceID', 'ServiceName', 'ServiceTags', 'ServiceAddress', 'ServiceMeta', 'ServicePort', 'ServiceWeights', 'ServiceEnableTagOverride', 'Namespace'],
} as const;

export function compileFilter(expression: string, allowed: readonly string[] = selectors.health): Predicate {
  const roots = new Set(allowed);
  const tokens = tokenize(expression);
  let pos = 0;
  const peek = () => tokens[pos];
  const word = (text: string, offset = 0) => tokens[pos + offset]?.kind === 'word' && tokens[pos + offset]!.text === text;
  const fail = (why: string): never => {
    throw new Error(`Failed to create boolean expression evaluator: ${why}`);
  };

  const value = (): string => {
    const token = tokens[pos++];
    if (!token || (token.kind !== 'string' && token.kind !== 'word')) fail(`expected a value at ${describe(token)}`);
    return token!.text;
  };
  const selector = (): string[] => {
    const token = tokens[pos++];
    if (!token || token.kind !== 'word') return fail(`expected a selector at ${describe(token)}`);
    const path = token.text.split('.');
    if (!roots.has(path[0]!)) fail(`Selector "${token.text}" is not valid`);
    return path;
  };

  const match = (): Predicate => {
    // `"value" in Selector` / `"value" not in Selector`
    if (peek()?.kind === 'string' || (peek()?.kind === 'word' && (word('in', 1) || (word('not', 1) && word('in', 2))))) {
      const needle = value();
      const negate = word('not') ? (pos++, true) : false;
      if (!word('in')) fail(`expected "in" at ${describe(peek())}`);
      pos++;
      const path = selector();
      return (row) => contains(resolve(row, path), needle) !== negate;
    }
    const path = selector();
    const op = peek();
    if (op?.kind === 'op') {
      pos++;
      const expected = value();
      return op.text === '==' ? (row) => equals(resolve(row, path), expected) : (row) => !equals(resolve(row, path), expected);
    }
    if (word('is')) {
      pos++;
      const negate = word('not') ? (pos++, true) : false;
      if (!word('empty')) fail(`expected "empty" at ${describe(peek())}`);
      pos++;
      return (row) => isEmpty(resolve(row, path)) !== negate;
    }
    const negate = word('not') ? (pos++, true) : false;
    if (word('contains')) {
      pos++;
      const needle = value();
      return (row) => contains(resolve(row, path), needle) !== negate;
    }
    if (word('matches')) {
      pos++;
      const pattern = new RegExp(value());
      return (row) => {
        const found = resolve(row, path);
        return (typeof found === 'string' && pattern.test(found)) !== negate;
      };
    }
    return fail(`expected an operator after selector at ${describe(peek())}`);
  };

  const unary = (): Predicate => {
    if (word('not')) {
      pos++;
      const inner = unary();
      return (row) => !inner(row);
    }
    if (peek()?.kind === 'paren' && peek()!.text === '(') {
      pos++;
      const inner = or();
      if (peek()?.text !== ')') fail('missing ")"');
      pos++;
      return inner;
    }
    return match();
  };
  const and = (): Predicate => {
    let left = unary();
    while (word('and')) {
      pos++;
      const a = left;
      const b = unary();
      left = (row) => a(row) && b(row);
    }
    return left;
  };
  const or = (): Predicate => {
    let left = and();
    while (word('or')) {
      pos++;
      const a = left;
      const b = and();
      left = (row) => a(row) || b(row);
    }
    return left;
  };

  const predicate = or();
  if (pos !== tokens.length) fail(`unexpected ${describe(peek())}`);
  return predicate;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === '`') {
      const end = text.indexOf(c, i + 1);
      if (end === -1) throw new Error('Failed to create boolean expression evaluator: unterminated string');
      tokens.push({ kind: 'string', text: text.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: 'paren', text: c });
      i++;
    } else if (text.startsWith('==', i) || text.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: text.slice(i, i + 2) });
      i += 2;
    } else {
      const match = /^[^\s()"`=!]+/.exec(text.slice(i));
      if (!match) throw new Error(`Failed to create boolean expression evaluator: unexpected "${c}"`);
      tokens.push({ kind: 'word', text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

function resolve(value: unknown, path: readonly string[]): unknown {
  let current: unknown = value;
  for (let i = 0; i < path.length; i++) {
    if (Array.isArray(current)) return current.flatMap((item) => toList(resolve(item, path.slice(i))));
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[path[i]!];
  }
  return current;
}

function toList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function equals(found: unknown, expected: string): boolean {
  if (found === undefined || found === null) return expected === '';
  if (typeof found === 'object') return false;
  return String(found) === expected;
}

function contains(found: unknown, needle: string): boolean {
  if (Array.isArray(found)) return found.some((item) => String(item) === needle);
  if (typeof found === 'string') return found.includes(needle);
  if (typeof found === 'object' && found !== null) return Object.hasOwn(found, needle);
  return false;
}

function isEmpty(found: unknown): boolean {
  if (found === undefined || found === null || found === '') return true;
  if (Array.isArray(found)) return found.length === 0;
  if (typeof found === 'object') return Object.keys(found).length === 0;
  return false;
}

function describe(token: Token | undefined): string {
  return token ? `"${token.text}"` : 'end of expression';
}
