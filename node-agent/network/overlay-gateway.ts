/**
 * The anycast gateway of an overlay Network: every node's bridge holds the same gateway address with the same
 * MAC (bridgeMacAddress is derived from the Network alone), so containers on any node use their own node as
 * gateway and DNS server. ARP for the gateway address must then stay on each node: an nftables bridge table
 * drops it on the VXLAN port in both directions, so no node answers for another (or sees its own MAC coming back).
 */
import { CommandError, inNetns, runCommand, runChecked } from './command';
import { gatewayFilterTableName, vxlanName } from './names';
import type { NetworkConfig } from './types';

export class AnycastGatewayFilter {
  constructor(private readonly hostNetns?: string) {}

  /** Installs or replaces the table (idempotent: the create-delete-create idiom of `nft -f` is atomic). */
  async ensure(net: NetworkConfig): Promise<void> {
    const table = gatewayFilterTableName(net.key);
    const port = vxlanName(net.key);
    const drops = (direction: 'iifname' | 'oifname') =>
      [`${direction} "${port}" arp saddr ip ${net.gateway} drop`, `${direction} "${port}" arp daddr ip ${net.gateway} drop`].join('\n    ');
    const ruleset = `table bridge ${table}
delete table bridge ${table}
table bridge ${table} {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ${drops('iifname')}
    ${drops('oifname')}
  }
  chain output {
    type filter hook output priority 0; policy accept;
    ${drops('oifname')}
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ${drops('iifname')}
  }
}
`;
    await runChecked(inNetns(this.hostNetns, ['nft', '-f', '-']), ruleset);
  }

  /** Removes the table; a missing one is a no-op. */
  async remove(net: NetworkConfig): Promise<void> {
    const argv = inNetns(this.hostNetns, ['nft', 'delete', 'table', 'bridge', gatewayFilterTableName(net.key)]);
    const result = await runCommand(argv);
    if (result.code !== 0 && !/No such file or directory/.test(result.stderr)) throw new CommandError(argv, result);
  }
}

/** The berth nftables tables in `hostNetns`, as `FAMILY NAME`. */
export async function listBerthNftTables(hostNetns?: string): Promise<string[]> {
  const result = await runChecked(inNetns(hostNetns, ['nft', 'list', 'tables']));
  return result.stdout
    .split('\n')
    .map((line) => line.replace(/^table /, '').trim())
    .filter((table) => / berth/.test(table));
}
