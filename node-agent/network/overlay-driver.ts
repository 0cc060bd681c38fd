/**
 * The `overlay` driver: a Network spanning nodes. On each node it is a bridge like the `bridge` driver's, plus a
 * VXLAN device on that bridge that floods broadcast and unknown unicast to every other node of the Network
 * (one all-zero FDB entry per remote) and learns container MACs from what comes back.
 *
 * The bridge carries no gateway address: every node would claim the same gateway on one L2 segment and
 * answer each other's ARP. So overlay Networks are internal (node-to-node L2 only, no default route); names
 * resolve through the hosts file (hosts-file.ts) until a per-node DNS address exists for them.
 */
import { BridgeDriver, BridgeDriverOptions, describeNetwork } from './bridge-driver';
import { ALREADY_EXISTS, ALREADY_GONE, runIpBatchChecked } from './ip-batch';
import { bridgeName, vxlanName } from './names';
import type { AttachOptions, Attachment, NetworkConfig, NetworkDriver } from './types';

export const VXLAN_PORT = 4789;
/** VXLAN adds 50 bytes (outer Ethernet, IPv4, UDP and VXLAN headers) to a 1500-byte underlay. */
const OVERLAY_MTU = 1450;

export class OverlayDriver implements NetworkDriver {
  readonly name = 'overlay';
  private readonly bridge: BridgeDriver;

  constructor(private readonly options: Omit<BridgeDriverOptions, 'gatewayOnBridge'> = {}) {
    this.bridge = new BridgeDriver({ ...options, gatewayOnBridge: false });
  }

  async ensureNetwork(net: NetworkConfig): Promise<void> {
    const overlay = net.overlay;
    if (!overlay) throw new Error(`network ${describeNetwork(net)}: the overlay driver needs spec.overlay (vni, local and remote addresses)`);
    const local = asBridgeNetwork(net);
    await this.bridge.ensureNetwork(local);
    const vxlan = vxlanName(net.key);
    const dev = overlay.underlayDevice ? ` dev ${overlay.underlayDevice}` : '';
    await runIpBatchChecked(
      [
        `link add ${vxlan} mtu ${local.mtu} type vxlan id ${overlay.vni} local ${overlay.localAddress}${dev} dstport ${overlay.dstPort ?? VXLAN_PORT}`,
        `link set ${vxlan} master ${bridgeName(net.key)} up`,
      ],
      `ensure VXLAN ${vxlan} of network ${describeNetwork(net)}`,
      { netns: this.options.hostNetns, tolerated: ALREADY_EXISTS },
    );
    // `append` adds one more flood destination to the all-zero entry; appending an existing one reports "File exists".
    await runIpBatchChecked(
      overlay.remoteAddresses.map((remote) => `fdb append 00:00:00:00:00:00 dev ${vxlan} dst ${remote}`),
      `add VXLAN flood entries of network ${describeNetwork(net)}`,
      { netns: this.options.hostNetns, tolerated: ALREADY_EXISTS, tool: 'bridge' },
    );
  }

  attach(net: NetworkConfig, containerId: string, netnsPath: string, ip: string, options?: AttachOptions): Promise<Attachment> {
    return this.bridge.attach(asBridgeNetwork(net), containerId, netnsPath, ip, { ...options, defaultRoute: false });
  }

  detach(net: NetworkConfig, containerId: string): Promise<void> {
    return this.bridge.detach(net, containerId);
  }

  async removeNetwork(net: NetworkConfig): Promise<void> {
    await runIpBatchChecked([`link del ${vxlanName(net.key)}`], `remove VXLAN of network ${describeNetwork(net)}`, {
      netns: this.options.hostNetns,
      tolerated: ALREADY_GONE,
    });
    await this.bridge.removeNetwork(net);
  }
}

function asBridgeNetwork(net: NetworkConfig): NetworkConfig {
  return { ...net, internal: true, mtu: net.mtu ?? OVERLAY_MTU };
}
