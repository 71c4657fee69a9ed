import { ConfigError, validateServiceName } from '@disco/core';
import type { experimental } from '@grpc/grpc-js';

export interface DiscoveryTarget {
  readonly name: string;
  /** Only instances carrying every one of these tags. */
  readonly tags: readonly string[];
}

/**
 * `discovery:///user-service` or `discovery:user-service`, optionally with
 * `?tag=v2&tag=eu` (instances must carry every tag). Throws ERR_CONFIG / ERR_INVALID_SERVICE.
 */
export function parseTarget(target: experimental.GrpcUri): DiscoveryTarget {
  const text = `${target.scheme ?? ''}:${target.authority === undefined ? '' : `//${target.authority}/`}${target.path}`;
  if (target.authority) {
    throw new ConfigError(`gRPC target "${text}" names an authority ("${target.authority}"); write ${target.scheme}:///<service-name>`, 'target');
  }
  const query = target.path.indexOf('?');
  const name = query === -1 ? target.path : target.path.slice(0, query);
  const params = new URLSearchParams(query === -1 ? '' : target.path.slice(query + 1));
  for (const key of params.keys()) {
    if (key !== 'tag') throw new ConfigError(`gRPC target "${text}" has unknown parameter "${key}"; only "tag" is supported`, 'target');
  }
  return { name: validateServiceName(name), tags: params.getAll('tag') };
}
