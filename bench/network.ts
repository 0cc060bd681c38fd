/**
 * `npm run bench:network`: container-to-container throughput and latency over a Berth bridge against
 * loopback, and the time to attach a container. Containers are bare namespaces; iperf3 runs in them.
 * Like for like: the loopback runs are inside the client container's namespace (iperf3 server and client both
 * there, on 127.0.0.1), the bridge runs have the client in that namespace and the server in another container's,
 * with the same iperf3 flags (`IPERF_FLAGS`), the same processes and the same kernel stack (netfilter included);
 * only the path between the two sockets differs. The last line of output is one JSON object.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import {
  allocateAddress,
  BridgeDriver,
  createNetns,
  deleteNetns,
  EMPTY_IPAM_STATE,
  listBerthResources,
  resourcesNamed,
  validateAddressing,
  bridgeName,
  DEFAULT_BRIDGE_MTU,
  type IpamState,
  type NetworkConfig,
} from '../node-agent/network';
import { runChecked } from '../node-agent/network/command';
import { pickFreeSubnets, releaseSubnets, testTag } from '../node-agent/network/testing';
import { median } from './stats';

const IPERF_SECONDS = 2;
/** One TCP stream, iperf3's default 128 KiB writes; the same for both paths. */
const IPERF_FLAGS = ['-t', String(IPERF_SECONDS), '-P', '1', '-l', '128K'];
/**
 * Bridge and loopback runs alternate this many times, so a burst of load elsewhere on the machine skews both
 * alike. Throughput is compared on each path's best round (what the path can do when it gets the CPU), and the
 * ratio of medians is printed beside it.
 */
const ROUNDS = 4;
const ATTACH_SAMPLES = 50;
const PING_COUNT = 200;

interface PathFigures {
  readonly throughputGbps: number;
  readonly rttAvgMs: number;
  readonly cpuPerGbps: number;
}

interface IperfRun {
  readonly gbps: number;
  /**
   * CPU of both iperf3 processes (their share of the run's wall time, in %, kernel work done in their context
   * included) per Gbit/s: what a byte costs on this path. Unlike throughput it hardly depends on what else runs, so
   * loopback's cost over the bridge's is the throughput ratio to expect when both get whole CPUs.
   */
  readonly cpuPerGbps: number;
}

/** Runs the iperf3 server in `server.ns` and the client in `clientNs` (the host's namespace when undefined). */
async function iperf(server: { ns?: string; address: string }, clientNs: string | undefined, port: number): Promise<IperfRun> {
  const prefix = (ns?: string) => (ns ? ['ip', 'netns', 'exec', ns] : []);
  const serverArgv = [...prefix(server.ns), 'iperf3', '-s', '-1', '-B', server.address, '-p', String(port)];
  const child = spawn(serverArgv[0], serverArgv.slice(1), { stdio: 'ignore' });
  try {
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const out = await runChecked([...prefix(clientNs), 'iperf3', '-c', server.address, '-p', String(port), ...IPERF_FLAGS, '-J']);
        const { end } = JSON.parse(out.stdout);
        const gbps = end.sum_received.bits_per_second / 1e9;
        return { gbps, cpuPerGbps: (end.cpu_utilization_percent.host_total + end.cpu_utilization_percent.remote_total) / gbps };
      } catch (err) {
        lastError = err; // the server may not listen yet
      }
    }
    throw new Error('iperf3 client never connected', { cause: lastError });
  } finally {
    child.kill('SIGKILL');
  }
}

async function pingRtt(ns: string, address: string): Promise<number> {
  const argv = ['ip', 'netns', 'exec', ns, '/bin/busybox', 'ping', '-A', '-q', '-c', String(PING_COUNT), address];
  const out = (await runChecked(argv)).stdout;
  const match = /min\/avg\/max = [0-9.]+\/([0-9.]+)\//.exec(out);
  if (!match) throw new Error(`unexpected ping output: ${out}`);
  return Number(match[1]);
}

async function main(): Promise<void> {
  const tag = testTag();
  const driver = new BridgeDriver();
  const subnets = await pickFreeSubnets(2);
  const [subnet, subnet1500] = subnets;
  const net: NetworkConfig = { key: `bench${tag}/net`, name: 'net', namespace: `bench${tag}`, driver: 'bridge', ...validateAddressing({ subnet }, []) };
  /** The same two containers also on a bridge at the MTU Berth used before (eth1), to show what the MTU buys. */
  const net1500: NetworkConfig = { key: `bench${tag}/net1500`, name: 'net1500', namespace: `bench${tag}`, driver: 'bridge', mtu: 1500, ...validateAddressing({ subnet: subnet1500 }, []) };
  const ips1500: string[] = [];
  let ipam: IpamState = EMPTY_IPAM_STATE;
  const created: string[] = [];
  const attached: string[] = [];
  const attachMs: number[] = [];
  try {
    await driver.ensureNetwork(net);
    for (let i = 0; i < ATTACH_SAMPLES; i++) {
      const id = `c${i}`;
      const ns = `berth-${tag}-${id}`;
      const path = await createNetns(ns);
      created.push(ns);
      const allocation = allocateAddress(net, ipam, id);
      ipam = allocation.state;
      const start = process.hrtime.bigint();
      await driver.attach(net, id, path, allocation.address);
      attachMs.push(Number(process.hrtime.bigint() - start) / 1e6);
      attached.push(id);
    }
    const [client, server] = [created[0], created[1]];
    const serverIp = ipam.allocations.c1;
    await driver.ensureNetwork(net1500);
    let ipam1500: IpamState = EMPTY_IPAM_STATE;
    for (const [index, id] of ['c0', 'c1'].entries()) {
      const allocation = allocateAddress(net1500, ipam1500, id);
      ipam1500 = allocation.state;
      ips1500.push(allocation.address);
      await driver.attach(net1500, id, await createNetns(created[index]), allocation.address, { interfaceName: 'eth1', defaultRoute: false });
    }
    const port = 20000 + Math.floor(Math.random() * 20000);
    const runs = { bridge: [] as IperfRun[], bridge1500: [] as IperfRun[], loopback: [] as IperfRun[], hostLoopback: [] as IperfRun[] };
    const samples = { bridgeRtt: [] as number[], loopbackRtt: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.bridge.push(await iperf({ ns: server, address: serverIp }, client, port));
      runs.bridge1500.push(await iperf({ ns: server, address: ips1500[1] }, client, port + 2));
      runs.loopback.push(await iperf({ ns: client, address: '127.0.0.1' }, client, port + 1));
      runs.hostLoopback.push(await iperf({ address: '127.0.0.1' }, undefined, port + 3));
      samples.bridgeRtt.push(await pingRtt(client, serverIp));
      samples.loopbackRtt.push(await pingRtt(client, '127.0.0.1'));
    }
    const gbps = (path: IperfRun[]) => path.map((r) => r.gbps);
    const cost = (path: IperfRun[]) => median(path.map((r) => r.cpuPerGbps));
    const bridge: PathFigures = { throughputGbps: Math.max(...gbps(runs.bridge)), rttAvgMs: median(samples.bridgeRtt), cpuPerGbps: cost(runs.bridge) };
    const loopback: PathFigures = { throughputGbps: Math.max(...gbps(runs.loopback)), rttAvgMs: median(samples.loopbackRtt), cpuPerGbps: cost(runs.loopback) };
    const result = {
      bench: 'network',
      compared: `iperf3 ${IPERF_FLAGS.join(' ')}: client in container A to server in container B over bridge ${bridgeName(net.key)} (MTU ${net.mtu ?? DEFAULT_BRIDGE_MTU}) vs client and server both in container A on its loopback (MTU 65536)`,
      bridge,
      loopback,
      throughputRatio: round(bridge.throughputGbps / loopback.throughputGbps),
      throughputRatioOfMedians: round(median(gbps(runs.bridge)) / median(gbps(runs.loopback))),
      /** Bytes per CPU second, bridge over loopback (see IperfRun.cpuPerGbps): the load-insensitive figure. */
      cpuEfficiencyRatio: round(loopback.cpuPerGbps / bridge.cpuPerGbps),
      rounds: { bridgeGbps: gbps(runs.bridge).map(round), loopbackGbps: gbps(runs.loopback).map(round), bridgeMtu1500Gbps: gbps(runs.bridge1500).map(round), hostLoopbackGbps: gbps(runs.hostLoopback).map(round) },
      bridgeMtu1500: { throughputRatio: round(Math.max(...gbps(runs.bridge1500)) / loopback.throughputGbps), cpuEfficiencyRatio: round(loopback.cpuPerGbps / cost(runs.bridge1500)) },
      /** Reference only: the host namespace's loopback has the host's netfilter rules and conntrack on its path. */
      hostLoopbackGbps: round(Math.max(...gbps(runs.hostLoopback))),
      rttRatio: round(bridge.rttAvgMs / loopback.rttAvgMs),
      attachMsMedian: round(median(attachMs)),
      attachMsMax: round(Math.max(...attachMs)),
      attachSamples: attachMs.length,
      targets: { throughputRatioAtLeast: 0.8, attachMsAtMost: 20 },
      loadAverage: os.loadavg()[0],
    };
    console.log(`compared: ${result.compared}`);
    console.log(`bridge:   ${bridge.throughputGbps.toFixed(2)} Gbit/s, rtt ${bridge.rttAvgMs.toFixed(3)} ms (best of ${ROUNDS} iperf3 rounds of ${IPERF_SECONDS} s; median rtt of ping x${PING_COUNT})`);
    console.log(`bridge at MTU 1500 (same containers, eth1): ${Math.max(...gbps(runs.bridge1500)).toFixed(2)} Gbit/s, ${result.bridgeMtu1500.throughputRatio} of loopback; CPU efficiency ${result.bridgeMtu1500.cpuEfficiencyRatio} of loopback`);
    console.log(`loopback: ${loopback.throughputGbps.toFixed(2)} Gbit/s, rtt ${loopback.rttAvgMs.toFixed(3)} ms (in container A)`);
    console.log(`host-namespace loopback (reference, not the target's denominator): ${result.hostLoopbackGbps.toFixed(2)} Gbit/s`);
    console.log(`throughput bridge/loopback ${result.throughputRatio} (target >= 0.8; ratio of medians ${result.throughputRatioOfMedians}); rtt ratio ${result.rttRatio}`);
    console.log(`CPU per Gbit/s (both iperf3 processes, median): bridge ${bridge.cpuPerGbps.toFixed(2)} %, loopback ${loopback.cpuPerGbps.toFixed(2)} % -> bridge efficiency ${result.cpuEfficiencyRatio} of loopback (the ratio to expect on idle CPUs)`);
    console.log(`attach: median ${result.attachMsMedian} ms, max ${result.attachMsMax} ms over ${attachMs.length} containers (target <= 20 ms)`);
    console.log(`1-minute load average during the run: ${result.loadAverage.toFixed(2)} on ${os.cpus().length} CPUs`);
    console.log(JSON.stringify(result));
  } finally {
    for (const id of attached) await driver.detach(net, id);
    for (const id of ['c0', 'c1']) await driver.detach(net1500, id);
    await driver.removeNetwork(net1500);
    for (const ns of created) await deleteNetns(ns);
    await driver.removeNetwork(net);
    const left = resourcesNamed(await listBerthResources(), [bridgeName(net.key), bridgeName(net1500.key), ...created]);
    if (left.length > 0) console.error(`left behind: ${left.join(', ')}`);
    releaseSubnets(subnets);
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
