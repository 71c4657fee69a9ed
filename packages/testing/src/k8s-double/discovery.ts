// The discovery documents clients read before anything else (client-go's discovery client,
// kubectl's RESTMapper): /version, /api, /apis and one APIResourceList per group version.
import { resourceTypes, resourceVerbs, type ResourceType } from './resources.js';

export const serverVersion = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.0-disco-double',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-04-17T00:00:00Z',
  goVersion: 'go1.22.2',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

const groups = () => [...new Set(resourceTypes.map((t) => t.group).filter((g) => g !== ''))];

function group(name: string) {
  const version = { groupVersion: `${name}/v1`, version: 'v1' };
  return { name, versions: [version], preferredVersion: version };
}

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups().map(group) };
}

export function apiGroup(name: string) {
  return groups().includes(name) ? { kind: 'APIGroup', apiVersion: 'v1', ...group(name) } : undefined;
}

function entries(type: ResourceType) {
  const main = {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: resourceVerbs,
    ...(type.shortNames.length > 0 && { shortNames: type.shortNames }),
    ...((type.plural === 'pods' || type.plural === 'services') && { categories: ['all'] }),
  };
  const subresources = type.subresources.map((sub) => ({ name: `${type.plural}/${sub}`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get', 'patch', 'update'] }));
  return [main, ...subresources];
}

/** The APIResourceList of `/api/v1` or `/apis/<group>/v1`; undefined for a group version not served. */
export function apiResourceList(groupName: string) {
  const types = resourceTypes.filter((t) => t.group === groupName);
  if (types.length === 0) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupName === '' ? 'v1' : `${groupName}/v1`, resources: types.flatMap(entries) };
}
