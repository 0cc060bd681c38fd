/**
 * The `overlay` driver: a Network spanning nodes. On each node it is a bridge like the `bridge` driver's, plus a
 * VXLAN device on that bridge that floods broadcast and unknown unicast to every other node of the Network
 * (one all-zero FDB entry per remote, kept equal to the Network's current nodes) and learns container MACs from what comes back. The gateway is anycast:
 * the same address and MAC on every node, its ARP kept off the VXLAN (overlay-gateway.ts), so each node is
 * gateway and DNS server for its own containers.
 */
import { BridgeDriver, BridgeDriverOptions, describeNetwork } from './bridge-driver';
import { inNetns, runChecked, runCommand } from './command';
import { ALREADY_EXISTS, ALREADY_GONE, runIpBatchChecked } from './ip-batch';
import { bridgeName, vxlanName } from './names';
import { AnycastGatewayFilter } from './overlay-gateway';
import type { AttachOptions, Attachment, NetworkConfig, NetworkDriver, OverlayConfig } from './types';

export const VXLAN_PORT = 4789;
/** The all-zero MAC: the FDB entry for broadcast, multicast and unknown unicast (one per remote node). */
const FLOOD_MAC = '00:00:00:00:00:00';
/** VXLAN adds 50 bytes (outer Ethernet, IPv4, UDP and VXLAN headers) to a 1500-byte underlay. */
const OVERLAY_MTU = 1450;

export class OverlayDriver implements NetworkDriver {
  readonly name = 'overlay';
  private readonly bridge: BridgeDriver;

  private readonly gatewayFilter: AnycastGatewayFilter;

  constructor(private readonly options: Omit<BridgeDriverOptions, 'ipv6LinkLocal'> = {}) {
    this.bridge = new BridgeDriver({ ...options, ipv6LinkLocal: false });
    this.gatewayFilter = new AnycastGatewayFilter(options.hostNetns);
  }

  async ensureNetwork(net: NetworkConfig): Promise<void> {
    const overlay = net.overlay;
    if (!overlay) throw new Error(`network ${describeNetwork(net)}: the overlay driver needs spec.overlay (vni, local and remote addresses)`);
    const local = asBridgeNetwork(net);
    // The filter goes in before the VXLAN port joins the bridge, so gateway ARP never crosses.
    await this.gatewayFilter.ensure(net);
    await this.bridge.ensureNetwork(local);
    const vxlan = vxlanName(net.key);
    const dev = overlay.underlayDevice ? ` dev ${overlay.underlayDevice}` : '';
    const stale = await this.vxlanDiffers(vxlan, overlay);
    await runIpBatchChecked(
      [
        ...(stale ? [`link del ${vxlan}`] : []),
        `link add ${vxlan} mtu ${local.mtu} type vxlan id ${overlay.vni} local ${overlay.localAddress}${dev} dstport ${overlay.dstPort ?? VXLAN_PORT}`,
        `link set ${vxlan} addrgenmode none`,
        `link set ${vxlan} master ${bridgeName(net.key)} up`,
      ],
      `ensure VXLAN ${vxlan} of network ${describeNetwork(net)}`,
      { netns: this.options.hostNetns, tolerated: ALREADY_EXISTS },
    );
    await this.syncFloodEntries(net, overlay.remoteAddresses);
  }

  /**
   * Whether VXLAN device `vxlan` exists with another VNI, local address or port than `overlay` (a Network whose
   * VNI the controller re-picked, or a node whose underlay address changed): it is then recreated, since
   * `link add` of an existing device changes nothing.
   */
  private async vxlanDiffers(vxlan: string, overlay: OverlayConfig): Promise<boolean> {
    const shown = await runCommand(inNetns(this.options.hostNetns, ['ip', '-d', '-j', 'link', 'show', vxlan]));
    if (shown.code !== 0) return false; // not there yet
    const info = (JSON.parse(shown.stdout) as { linkinfo?: { info_data?: { id?: number; local?: string; port?: number } } }[])[0]?.linkinfo?.info_data;
    return info?.id !== overlay.vni || info.local !== overlay.localAddress || info.port !== (overlay.dstPort ?? VXLAN_PORT);
  }

  /** Makes the VXLAN's flood list exactly `remotes`: nodes that left the Network stop getting its broadcasts. */
  private async syncFloodEntries(net: NetworkConfig, remotes: readonly string[]): Promise<void> {
    const vxlan = vxlanName(net.key);
    const listing = await runChecked(inNetns(this.options.hostNetns, ['bridge', '-j', 'fdb', 'show', 'dev', vxlan]));
    const current = (JSON.parse(listing.stdout || '[]') as { mac: string; dst?: string }[]).filter((e) => e.mac === FLOOD_MAC && e.dst).map((e) => e.dst!);
    const commands = [
      ...remotes.filter((r) => !current.includes(r)).map((r) => `fdb append ${FLOOD_MAC} dev ${vxlan} dst ${r}`),
      ...current.filter((c) => !remotes.includes(c)).map((c) => `fdb del ${FLOOD_MAC} dev ${vxlan} dst ${c}`),
    ];
    if (commands.length === 0) return;
    await runIpBatchChecked(commands, `sync VXLAN flood entries of network ${describeNetwork(net)}`, { netns: this.options.hostNetns, tool: 'bridge' });
  }

  attach(net: NetworkConfig, containerId: string, netnsPath: string, ip: string, options?: AttachOptions): Promise<Attachment> {
    return this.bridge.attach(asBridgeNetwork(net), containerId, netnsPath, ip, options);
  }

  detach(net: NetworkConfig, containerId: string): Promise<void> {
    return this.bridge.detach(net, containerId);
  }

  async removeNetwork(net: NetworkConfig): Promise<void> {
    await runIpBatchChecked([`link del ${vxlanName(net.key)}`], `remove VXLAN of network ${describeNetwork(net)}`, {
      netns: this.options.hostNetns,
      tolerated: ALREADY_GONE,
    });
    await this.gatewayFilter.remove(net); // before the bridge, whose absence callers take as "all gone"
    await this.bridge.removeNetwork(net);
  }
}

function asBridgeNetwork(net: NetworkConfig): NetworkConfig {
  return { ...net, mtu: net.mtu ?? OVERLAY_MTU };
}
