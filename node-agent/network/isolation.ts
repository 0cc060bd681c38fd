/**
 * Isolation between Networks on a node. Each Network has its own bridge, so with IPv4 forwarding off (the
 * default) the kernel never routes between them. When forwarding is on, the chain BERTH-ISOLATION (jumped
 * to from FORWARD) lets traffic stay within one berth bridge and drops it between two berth bridges, and
 * drops everything routed into or out of an internal Network's bridge. Other traffic between a berth bridge
 * and the rest of the host is left to the host's own rules.
 */
import { CommandError, inNetns, runCommand, runChecked } from './command';
import { BRIDGE_PREFIX } from './names';

export const ISOLATION_CHAIN = 'BERTH-ISOLATION';

export interface IsolatedBridge {
  readonly name: string;
  /** Bridge of an `internal: true` Network: nothing is routed into or out of it. */
  readonly internal: boolean;
}

export class ForwardIsolation {
  /** @param hostNetns the namespace holding the bridges (a simulated host in tests); the caller's own when undefined. */
  constructor(private readonly hostNetns?: string) {}

  /** Installs (or rewrites) the rules for `bridges`, the berth bridges that exist now; removes them all when empty. */
  async sync(bridges: readonly IsolatedBridge[]): Promise<void> {
    if (bridges.length === 0) return this.removeAll();
    if (!(await this.isForwardingOn()) && !(await this.hasChain())) return;
    // Declaring the chain in iptables-restore --noflush empties it first, so this replaces its rules atomically.
    const rules = [
      '*filter',
      `:${ISOLATION_CHAIN} - [0:0]`,
      ...bridges.flatMap(({ name: b, internal }) => [
        `-A ${ISOLATION_CHAIN} -i ${b} -o ${b} -j RETURN`,
        ...(internal ? [`-A ${ISOLATION_CHAIN} -i ${b} -j DROP`, `-A ${ISOLATION_CHAIN} -o ${b} -j DROP`] : []),
      ]),
      `-A ${ISOLATION_CHAIN} -i ${BRIDGE_PREFIX}+ -o ${BRIDGE_PREFIX}+ -j DROP`,
      'COMMIT',
    ];
    await runChecked(this.argv(['iptables-restore', '-w', '--noflush']), rules.join('\n') + '\n');
    const jump = ['-j', ISOLATION_CHAIN];
    if ((await runCommand(this.argv(['iptables', '-w', '-C', 'FORWARD', ...jump]))).code !== 0) {
      await runChecked(this.argv(['iptables', '-w', '-I', 'FORWARD', '1', ...jump]));
    }
  }

  /** The rules of BERTH-ISOLATION as `iptables -S` prints them (empty when the chain is absent). */
  async listRules(): Promise<string[]> {
    const result = await runCommand(this.argv(['iptables', '-w', '-S']));
    if (result.code !== 0) throw new CommandError(this.argv(['iptables', '-S']), result);
    return result.stdout.split('\n').filter((line) => line.includes(ISOLATION_CHAIN));
  }

  private async removeAll(): Promise<void> {
    if (!(await this.hasChain())) return;
    await runCommand(this.argv(['iptables', '-w', '-D', 'FORWARD', '-j', ISOLATION_CHAIN]));
    await runChecked(this.argv(['iptables', '-w', '-F', ISOLATION_CHAIN]));
    await runChecked(this.argv(['iptables', '-w', '-X', ISOLATION_CHAIN]));
  }

  private async hasChain(): Promise<boolean> {
    return (await runCommand(this.argv(['iptables', '-w', '-S', ISOLATION_CHAIN]))).code === 0;
  }

  private async isForwardingOn(): Promise<boolean> {
    const result = await runChecked(this.argv(['sysctl', '-n', 'net.ipv4.ip_forward']));
    return result.stdout.trim() === '1';
  }

  private argv(argv: readonly string[]): string[] {
    return inNetns(this.hostNetns, argv);
  }
}
