/**
 * Isolation between Networks on a node. Each Network has its own bridge, so with IPv4 forwarding off (the
 * default) the kernel never routes between them. When forwarding is on, iptables keeps them apart:
 *
 *   FORWARD          -j BERTH-ISOLATION
 *   BERTH-ISOLATION  -i BRIDGE -o berth-br-+ -j BERTH-ISO-<id>       one rule per bridge
 *                    -i BRIDGE ! -o BRIDGE -j DROP                     internal bridges: nothing routed out ...
 *                    -o BRIDGE ! -i BRIDGE -j DROP                     ... or in
 *   BERTH-ISO-<id>   -o BRIDGE -j RETURN, then -j DROP                 a bridge's own chain: stay on it or be dropped
 *
 * Every bridge's rules are added and removed on their own, never rewritten from a list of all bridges, so
 * several writers at once (agents in tests, concurrent ensure/remove) cannot drop each other's rules.
 * Traffic between a berth bridge and the rest of the host is left to the host's own rules.
 */
import * as fs from 'node:fs';
import { CommandError, inNetns, runCommand, runChecked } from './command';
import { BRIDGE_PREFIX } from './names';

export const ISOLATION_CHAIN = 'BERTH-ISOLATION';
const BRIDGE_CHAIN_PREFIX = 'BERTH-ISO-';

/** The chain of one bridge: `BERTH-ISO-<the bridge name's hash>` (iptables chain names are at most 28 characters). */
function bridgeChainOf(bridge: string): string {
  return BRIDGE_CHAIN_PREFIX + bridge.slice(BRIDGE_PREFIX.length);
}

/** Tail of the queue of iptables changes per namespace: check-then-add must not interleave within this process. */
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const result = (queues.get(key) ?? Promise.resolve()).then(work);
  queues.set(key, result.catch(() => undefined));
  return result;
}

export class ForwardIsolation {
  /** @param hostNetns the namespace holding the bridges (a simulated host in tests); the caller's own when undefined. */
  constructor(private readonly hostNetns?: string) {}

  /** Installs the rules of `bridge` when the host forwards IPv4 (or rules exist already); idempotent. */
  ensure(bridge: string, internal: boolean): Promise<void> {
    return serialized(this.hostNetns ?? '', () => this.ensureNow(bridge, internal));
  }

  /** Removes the rules of `bridge`; the shared chain goes with the last bridge's rules. Missing rules are a no-op. */
  remove(bridge: string): Promise<void> {
    return serialized(this.hostNetns ?? '', () => this.removeNow(bridge));
  }

  private async ensureNow(bridge: string, internal: boolean): Promise<void> {
    if (!(await this.isForwardingOn()) && !(await this.hasChain())) return;
    try {
      await this.install(bridge, internal);
    } catch {
      // The last other bridge's `remove` may have deleted the shared chain between our steps: start over once.
      await this.install(bridge, internal);
    }
  }

  private async install(bridge: string, internal: boolean): Promise<void> {
    const created = await this.iptables(['-N', ISOLATION_CHAIN]);
    if (created.code !== 0 && !/already exists/i.test(created.stderr)) throw new CommandError(this.argv(['iptables', '-N', ISOLATION_CHAIN]), created);
    await this.ensureRule(['FORWARD', '-j', ISOLATION_CHAIN], true);
    const own = bridgeChainOf(bridge);
    // Declaring a chain in iptables-restore --noflush creates or empties it: its two rules are replaced at once.
    const ownRules = ['*filter', `:${own} - [0:0]`, `-A ${own} -o ${bridge} -j RETURN`, `-A ${own} -j DROP`, 'COMMIT', ''].join('\n');
    await runChecked(this.argv(['iptables-restore', '-w', '--noflush']), ownRules);
    await this.ensureRule([ISOLATION_CHAIN, '-i', bridge, '-o', `${BRIDGE_PREFIX}+`, '-j', own]);
    for (const rule of internalRules(bridge)) {
      if (internal) await this.ensureRule(rule);
      else await this.deleteRule(rule);
    }
  }

  private async removeNow(bridge: string): Promise<void> {
    if (!(await this.hasChain())) return;
    const own = bridgeChainOf(bridge);
    await this.deleteRule([ISOLATION_CHAIN, '-i', bridge, '-o', `${BRIDGE_PREFIX}+`, '-j', own]);
    for (const rule of internalRules(bridge)) await this.deleteRule(rule);
    await this.iptables(['-F', own]);
    await this.iptables(['-X', own]);
    const left = await this.iptables(['-S', ISOLATION_CHAIN]);
    if (left.stdout.trim().split('\n').length > 1) return; // other bridges still have rules (the first line is `-N`)
    await this.deleteRule(['FORWARD', '-j', ISOLATION_CHAIN]);
    // Another writer may have added a rule meanwhile: then the chain stays, and so must the jump to it.
    if ((await this.iptables(['-X', ISOLATION_CHAIN])).code !== 0) await this.ensureRule(['FORWARD', '-j', ISOLATION_CHAIN], true);
  }

  /** The isolation rules (shared and per-bridge chains) as `iptables -S` prints them; empty when there are none. */
  async listRules(): Promise<string[]> {
    const result = await this.iptables(['-S']);
    if (result.code !== 0) throw new CommandError(this.argv(['iptables', '-S']), result);
    return result.stdout.split('\n').filter((line) => line.includes(BRIDGE_CHAIN_PREFIX) || line.includes(ISOLATION_CHAIN));
  }

  private async ensureRule(rule: readonly string[], first = false): Promise<void> {
    if ((await this.iptables(['-C', ...rule])).code === 0) return;
    const [chain, ...spec] = rule;
    const added = await this.iptables(first ? ['-I', chain, '1', ...spec] : ['-A', chain, ...spec]);
    if (added.code !== 0) throw new CommandError(this.argv(['iptables', '-A', ...rule]), added);
  }

  /** Deletes every copy of `rule` (another process racing the same check-then-add may have added it twice). */
  private async deleteRule(rule: readonly string[]): Promise<void> {
    for (let copies = 0; copies < 8 && (await this.iptables(['-D', ...rule])).code === 0; copies++);
  }

  private async hasChain(): Promise<boolean> {
    return (await this.iptables(['-S', ISOLATION_CHAIN])).code === 0;
  }

  private async isForwardingOn(): Promise<boolean> {
    if (!this.hostNetns) return fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
    const result = await runChecked(this.argv(['sysctl', '-n', 'net.ipv4.ip_forward']));
    return result.stdout.trim() === '1';
  }

  private iptables(args: readonly string[]) {
    return runCommand(this.argv(['iptables', '-w', ...args]));
  }

  private argv(argv: readonly string[]): string[] {
    return inNetns(this.hostNetns, argv);
  }
}

function internalRules(bridge: string): string[][] {
  return [
    [ISOLATION_CHAIN, '-i', bridge, '!', '-o', bridge, '-j', 'DROP'],
    [ISOLATION_CHAIN, '-o', bridge, '!', '-i', bridge, '-j', 'DROP'],
  ];
}
