/** Storage keys: `/registry/<group|core>/<plural>/[<namespace>/]<name>`; prefixes end in `/`. */
import type { ResourceInfo } from '../schema';

type KeyInfo = Pick<ResourceInfo, 'group' | 'plural' | 'namespaced'>;

const groupSegment = (group: string): string => group || 'core';

/** Every object of the resource (all namespaces), or of one namespace. */
export const prefixFor = (info: KeyInfo, namespace?: string): string =>
  info.namespaced && namespace
    ? `/registry/${groupSegment(info.group)}/${info.plural}/${namespace}/`
    : `/registry/${groupSegment(info.group)}/${info.plural}/`;

export const keyFor = (info: KeyInfo, namespace: string | undefined, name: string): string =>
  info.namespaced ? `${prefixFor(info, namespace)}${name}` : `${prefixFor(info)}${name}`;

export const NAMESPACES = { group: '', plural: 'namespaces', namespaced: false } as const;
export const namespaceKey = (name: string): string => keyFor(NAMESPACES, undefined, name);

/** Everything Berth stores (the garbage collector watches it all). */
export const ROOT_PREFIX = '/registry/';
