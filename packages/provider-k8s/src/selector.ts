import { InvalidServiceError, validateServiceName } from '@disco/core';
import type { Mode } from './options.js';

const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The label selector for one service. A service name is put into a selector, so it must be
 * a valid label value (which also keeps it from adding requirements of its own).
 */
export function selectorFor(mode: Mode, name: string, extra: string | undefined): string {
  validateServiceName(name);
  if (name.length > 63 || !labelValue.test(name)) {
    throw new InvalidServiceError(
      [`a Kubernetes service name must be a label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit); got ${JSON.stringify(name)}`],
      'service name',
    );
  }
  const fill = (template: string) => template.replaceAll('{service}', name);
  if (mode === 'pods') return fill(extra ?? 'app={service}');
  const own = `kubernetes.io/service-name=${name}`;
  return extra === undefined ? own : `${own},${fill(extra)}`;
}
