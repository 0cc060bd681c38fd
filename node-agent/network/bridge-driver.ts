/**
 * The `bridge` driver: one Linux bridge per Network holding the gateway address, and per container a veth
 * pair whose peer is created directly inside the container's namespace under its final name (eth0, ...).
 * An attach is one `ip` batch (through the long-lived session, so no process start of its own): the
 * host-side commands, then, through `netns exec`, the ones inside the container's namespace.
 */
import { ALREADY_EXISTS, ALREADY_GONE, runIpBatch, runIpBatchChecked, throwUnlessTolerated } from './ip-batch';
import { parseIpv4 } from './cidr';
import { prefixLengthOf } from './ipam';
import { ForwardIsolation } from './isolation';
import { bridgeMacAddress, bridgeName, containerMacAddress, hostVethName } from './names';
import type { AttachOptions, Attachment, NetworkConfig, NetworkDriver } from './types';

export interface BridgeDriverOptions {
  /** Namespace that plays the host (tests simulate hosts this way); the agent's own namespace when undefined. */
  readonly hostNetns?: string;
  /**
   * Give the bridge an IPv6 link-local address (default). The overlay driver turns it off: its bridges share one
   * MAC on every node, so the derived fe80:: addresses would collide across the VXLAN.
   */
  readonly ipv6LinkLocal?: boolean;
}

export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  private readonly isolation: ForwardIsolation;

  constructor(private readonly options: BridgeDriverOptions = {}) {
    this.isolation = new ForwardIsolation(options.hostNetns);
  }

  async ensureNetwork(net: NetworkConfig): Promise<void> {
    const bridge = bridgeName(net.key);
    await this.hostBatch(
      [
        `link add ${bridge}${mtuOption(net)} type bridge`,
        `link set ${bridge} address ${bridgeMacAddress(net.key)}`,
        ...(this.options.ipv6LinkLocal === false ? [`link set ${bridge} addrgenmode none`] : []),
        `addr add ${net.gateway}/${prefixLengthOf(net.subnet)} dev ${bridge}`,
        `link set ${bridge} up`,
      ],
      `ensure bridge ${bridge} of network ${describeNetwork(net)}`,
      ALREADY_EXISTS,
    );
    await this.isolation.ensure(bridge, net.internal === true);
  }

  async attach(net: NetworkConfig, containerId: string, netnsPath: string, ip: string, options: AttachOptions = {}): Promise<Attachment> {
    const bridge = bridgeName(net.key);
    const hostVeth = hostVethName(net.key, containerId);
    const interfaceName = options.interfaceName ?? 'eth0';
    // These go into an ip batch line by line: a space or newline in them would be another argument or command.
    parseIpv4(ip, 'ip');
    if (!/^[\w./-]+$/.test(netnsPath)) throw new Error(`attach container ${containerId}: namespace path ${JSON.stringify(netnsPath)} has unsafe characters`);
    if (!/^[\w.-]{1,15}$/.test(interfaceName)) throw new Error(`attach container ${containerId}: bad interface name ${JSON.stringify(interfaceName)}`);
    const prefixLength = prefixLengthOf(net.subnet);
    const defaultRoute = options.defaultRoute ?? !net.internal;
    const context = `attach container ${containerId} to network ${describeNetwork(net)}`;
    const run = () =>
      runIpBatch(
        [`link add ${hostVeth}${mtuOption(net)} master ${bridge} up type veth peer name ${interfaceName}${mtuOption(net)} address ${containerMacAddress(ip)} netns ${netnsPath}`],
        {
          netns: this.options.hostNetns,
          nested: {
            netns: netnsPath,
            commands: [
              `addr add ${ip}/${prefixLength} dev ${interfaceName}`,
              `link set ${interfaceName} up`,
              'link set lo up',
              ...(defaultRoute ? [`route add default via ${net.gateway} dev ${interfaceName}`] : []),
            ],
          },
        },
      );
    let failures = await run();
    if (failures.some((f) => !f.nested && f.message.includes(`"${bridge}"`))) {
      await this.ensureNetwork(net); // the bridge was missing: create it once, then retry
      failures = await run();
    }
    try {
      // "File exists" means an earlier attach of this container got that far: converge rather than fail.
      throwUnlessTolerated(failures, context, ALREADY_EXISTS);
    } catch (err) {
      await this.detach(net, containerId); // leave nothing half-configured
      throw err;
    }
    return { networkKey: net.key, containerId, interfaceName, hostInterface: hostVeth, address: ip, prefixLength, gateway: net.gateway };
  }

  async detach(net: NetworkConfig, containerId: string): Promise<void> {
    // Deleting one end of a veth pair deletes the other, wherever it is.
    await this.hostBatch([`link del ${hostVethName(net.key, containerId)}`], `detach container ${containerId} from network ${describeNetwork(net)}`, ALREADY_GONE);
  }

  async removeNetwork(net: NetworkConfig): Promise<void> {
    // Rules first, the bridge last: a caller (or a test) that sees the bridge gone may end the process at once,
    // and rules left behind would be walked by every forwarded packet of the host from then on.
    await this.isolation.remove(bridgeName(net.key));
    await this.hostBatch([`link del ${bridgeName(net.key)}`], `remove bridge of network ${describeNetwork(net)}`, ALREADY_GONE);
  }

  private hostBatch(commands: readonly string[], context: string, tolerated: RegExp): Promise<void> {
    return runIpBatchChecked(commands, context, { netns: this.options.hostNetns, tolerated });
  }
}

/**
 * MTU of a bridge Network's devices unless `spec.mtu` says otherwise: the largest a veth takes, like loopback's
 * 64 KiB. A single TCP stream between two containers then moves ~4× fewer, larger segments through veth and
 * bridge, which measured 0.9–1.1× of loopback against 0.4–0.5× at 1500 (9000 gained little). Traffic leaving
 * the node still gets the uplink's MTU: TCP takes the smaller MSS of both ends, and the host answers oversized
 * DF packets with ICMP "fragmentation needed".
 */
export const DEFAULT_BRIDGE_MTU = 65535;

function mtuOption(net: NetworkConfig): string {
  return ` mtu ${net.mtu ?? DEFAULT_BRIDGE_MTU}`;
}

export function describeNetwork(net: NetworkConfig): string {
  return `${net.namespace}/${net.name}`;
}
