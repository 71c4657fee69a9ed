import { UnsupportedError } from '@disco/core';
import type { Mode } from './options.js';

/** How to find every service's objects at once: a selector without `{service}`, and the label whose value is the service. */
export interface ServiceListing {
  readonly selector: string;
  readonly label: string;
}

const endpointSliceLabel = 'kubernetes.io/service-name';

/** Requirements separated by top-level commas (`a in (x,y),b` is two). */
function requirements(selector: string): string[] {
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

/**
 * The listing for `listServices()`. EndpointSlices: every slice with a
 * `kubernetes.io/service-name` label, ANDed with the requirements of K8S_LABEL_SELECTOR that do
 * not name `{service}`. Pods: the label the selector template sets to `{service}` (`app` in the
 * default `app={service}`) must exist; the template's other requirements still apply.
 */
export function serviceListing(mode: Mode, extra: string | undefined): ServiceListing {
  const template = requirements(mode === 'pods' ? (extra ?? 'app={service}') : (extra ?? ''));
  const fixed = template.filter((r) => !r.includes('{service}'));
  if (mode !== 'pods') return { selector: [endpointSliceLabel, ...fixed].join(','), label: endpointSliceLabel };
  const named = template.filter((r) => r.includes('{service}'));
  const label = named.length === 1 ? /^([\w./-]+)\s*==?\s*\{service\}$/.exec(named[0]!)?.[1] : undefined;
  if (label === undefined) {
    throw new UnsupportedError(
      `the kubernetes provider lists services in pods mode through the one label the selector sets to {service} (app={service} by default); K8S_LABEL_SELECTOR="${extra}" has no such label, so the services cannot be told apart: name the service you want instead`,
    );
  }
  return { selector: [label, ...fixed].join(','), label };
}

/** The distinct values of `label` on these raw objects. */
export function labelValues(items: readonly unknown[], label: string, into: Set<string>): void {
  for (const item of items) {
    const labels = (item as { metadata?: { labels?: unknown } } | null)?.metadata?.labels;
    const value = typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>)[label] : undefined;
    if (typeof value === 'string' && value !== '') into.add(value);
  }
}
