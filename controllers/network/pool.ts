/**
 * The pool Networks without `spec.subnet` get their subnet from (Docker's default-address-pools): a large CIDR
 * split into equal blocks, handing out the first block that overlaps no existing Network and no route or
 * address of the host.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { validateAddressing, type ExistingSubnet } from '../../node-agent/network';

export interface SubnetPool {
  /** E.g. `10.213.0.0/16`. */
  readonly cidr: string;
  /** Prefix length of each block, e.g. 24. */
  readonly prefixLength: number;
}

/** /20 blocks (4,094 addresses): a namespace's default Network holds a thousand containers and more; 16 namespaces per pool. */
export const DEFAULT_SUBNET_POOL: SubnetPool = { cidr: '10.213.0.0/16', prefixLength: 20 };

const toInt = (address: string): number => address.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
const toText = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** `A.B.C.D/N` (host bits allowed) → the aligned network `W.X.Y.Z/N`; a bare address is a /32. */
export function enclosingNetwork(cidr: string): string {
  const [address, prefix = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(prefix));
  return `${toText(Math.floor(toInt(address) / size) * size)}/${prefix}`;
}

/**
 * The first block of `pool` that overlaps none of `taken`; undefined when every block does.
 * Throws `NetworkSpecError` when the pool itself is malformed.
 */
export function pickSubnet(pool: SubnetPool, taken: readonly ExistingSubnet[]): string | undefined {
  const base = validateAddressing({ subnet: pool.cidr }, []).subnet;
  const [network, prefix] = base.split('/');
  const blocks = 2 ** (pool.prefixLength - Number(prefix));
  const blockSize = 2 ** (32 - pool.prefixLength);
  for (let i = 0; i < blocks; i++) {
    const candidate = `${toText(toInt(network) + i * blockSize)}/${pool.prefixLength}`;
    try {
      return validateAddressing({ subnet: candidate }, taken).subnet;
    } catch {
      // overlaps something: try the next block
    }
  }
  return undefined;
}

/** IPv4 routes and interface addresses of this host, as subnets a new Network must not overlap. */
export async function hostSubnets(): Promise<ExistingSubnet[]> {
  const run = async (args: string[]) => JSON.parse((await promisify(execFile)('ip', args)).stdout || '[]') as unknown[];
  const routes = (await run(['-j', '-4', 'route', 'show', 'table', 'all'])) as { dst?: string; dev?: string }[];
  const links = (await run(['-j', '-4', 'addr', 'show'])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  const cidrs = [
    ...routes.filter((r) => r.dst && /^[0-9.]+(\/\d+)?$/.test(r.dst)).map((r) => ({ name: `host route via ${r.dev ?? '?'}`, subnet: r.dst! })),
    ...links.flatMap((l) => l.addr_info.map((a) => ({ name: `host address on ${l.ifname}`, subnet: `${a.local}/${a.prefixlen}` }))),
  ];
  return cidrs.map((c) => ({ name: c.name, subnet: enclosingNetwork(c.subnet) }));
}
