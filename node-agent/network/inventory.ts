/**
 * What Berth has on a host: berth-prefixed links (bridges, veths, VXLAN), namespaces, routes and isolation rules.
 * Tests assert that the objects they created are gone; operators use it to find leftovers.
 */
import { runChecked, inNetns } from './command';
import { ForwardIsolation } from './isolation';
import { listBerthNftTables } from './overlay-gateway';
import { BERTH_PREFIX } from './names';
import { listNetns } from './netns';

export interface BerthLink {
  readonly name: string;
  /** `bridge`, `veth`, `vxlan`, ... */
  readonly kind: string;
}

export interface BerthResources {
  readonly links: readonly BerthLink[];
  /** Routes through a berth device, as `DEST dev DEVICE`. */
  readonly routes: readonly string[];
  readonly netns: readonly string[];
  readonly iptablesRules: readonly string[];
  /** nftables tables, as `FAMILY NAME` (the overlay gateway filters). */
  readonly nftTables: readonly string[];
}

interface IpJsonLink {
  readonly ifname: string;
  readonly linkinfo?: { readonly info_kind?: string };
}

interface IpJsonRoute {
  readonly dst: string;
  readonly dev?: string;
}

/** Lists berth objects in `hostNetns` (the caller's namespace when undefined); namespaces are always the global list. */
export async function listBerthResources(hostNetns?: string): Promise<BerthResources> {
  const [links, routes, iptablesRules, nftTables] = await Promise.all([
    runChecked(inNetns(hostNetns, ['ip', '-j', '-d', 'link', 'show'])),
    runChecked(inNetns(hostNetns, ['ip', '-j', 'route', 'show', 'table', 'all'])),
    new ForwardIsolation(hostNetns).listRules(),
    listBerthNftTables(hostNetns),
  ]);
  const isBerth = (name: string | undefined) => name !== undefined && name.startsWith(BERTH_PREFIX);
  return {
    links: (JSON.parse(links.stdout) as IpJsonLink[])
      .filter((l) => isBerth(l.ifname))
      .map((l) => ({ name: l.ifname, kind: l.linkinfo?.info_kind ?? 'unknown' })),
    routes: (JSON.parse(routes.stdout) as IpJsonRoute[]).filter((r) => isBerth(r.dev)).map((r) => `${r.dst} dev ${r.dev}`),
    netns: listNetns().filter(isBerth),
    iptablesRules,
    nftTables,
  };
}

/** The subset of `resources` that mentions any of `names` (devices, namespaces): what a test must find empty. */
export function resourcesNamed(resources: BerthResources, names: readonly string[]): string[] {
  const wanted = new Set(names);
  return [
    ...resources.links.filter((l) => wanted.has(l.name)).map((l) => `link ${l.name} (${l.kind})`),
    ...resources.routes.filter((r) => names.some((n) => r.endsWith(` dev ${n}`))).map((r) => `route ${r}`),
    ...resources.netns.filter((n) => wanted.has(n)).map((n) => `netns ${n}`),
    ...resources.iptablesRules.filter((r) => names.some((n) => r.includes(` ${n} `))).map((r) => `iptables ${r}`),
    ...resources.nftTables.filter((t) => names.some((n) => t.endsWith(` ${n}`))).map((t) => `nft table ${t}`),
  ];
}
