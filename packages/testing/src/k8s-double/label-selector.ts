// Kubernetes label selectors as the API server parses them: `a=b`, `a==b`, `a!=b`,
// `a in (x,y)`, `a notin (x,y)`, `a` (exists) and `!a` (does not exist), ANDed by commas.

type Requirement =
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | '!exists' };

export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseRequirement(text: string): Requirement {
  let m = /^!\s*([\w./-]+)$/.exec(text);
  if (m) return { key: m[1]!, op: '!exists' };
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(text);
  if (m) return { key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
  m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(text);
  if (m) return { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) };
  m = /^([\w./-]+)$/.exec(text);
  if (m) return { key: m[1]!, op: 'exists' };
  throw new Error(`unable to parse requirement: ${JSON.stringify(text)}`);
}

/** Parses a selector into a matcher; throws on a malformed selector (the API server answers 400). */
export function parseLabelSelector(selector: string | null | undefined): LabelMatcher {
  const requirements = splitTopLevel(selector ?? '').map(parseRequirement);
  return (labels) =>
    requirements.every((r) => {
      const value = labels?.[r.key];
      switch (r.op) {
        case 'exists':
          return value !== undefined;
        case '!exists':
          return value === undefined;
        case 'in':
          return value !== undefined && r.values.includes(value);
        case 'notin':
          return value === undefined || !r.values.includes(value);
      }
    });
}
