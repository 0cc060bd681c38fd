/**
 * An overlay Network through the whole path, on two simulated hosts: one API server and network controller, two
 * node agents in this process, each with its networking in a namespace the test creates as its "host" (the two
 * joined by a veth pair, the underlay). The controller gives the Network its VNI, each agent publishes its VTEP
 * address on its Node and builds the overlay with the other's as peer; a container on each node reaches the
 * other by address and by name (from the Network's allocations in the API). Everything is removed and checked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthNode, Container, KubeObject, Network, RESOURCES } from '../../client';
import { NetworkController, type NetworkStatus } from '../../controllers/network';
import { FileLogProvider, NodeAgent, runtimeIdOf, StoreImageProvider } from '../../node-agent/agent';
import { ApiNetworkProvider } from '../../node-agent/agent/network-provider';
import { ImageStore } from '../../node-agent/images/store';
import {
  bridgeName,
  containerNetnsName,
  createNetns,
  deleteNetns,
  listBerthResources,
  NodeNetworking,
  OverlayPeers,
  resourcesNamed,
  VTEP_ANNOTATION,
  vxlanName,
} from '../../node-agent/network';
import { runChecked } from '../../node-agent/network/command';
import { pickFreeSubnets, releaseSubnets, testTag } from '../../node-agent/network/testing';
import { BerthRuntime } from '../../node-agent/runtime';
import { startApiServer, type TestApiServer } from '../helpers/apiserver';
import { until } from '../helpers/until';

const tag = testTag();
const namespace = `ov-${tag}`;
const hosts = [`berth-${tag}-ha`, `berth-${tag}-hb`];
const underlay = [`berthu${tag}a`, `berthu${tag}b`];
const nodeNames = [`berth-${tag}-n1`, `berth-${tag}-n2`];
const containers = ['one', 'two'];
let vteps: string[] = [];
let subnets: string[] = [];
let api: TestApiServer;
let controller: NetworkController;
let networkUid = '';
const runtimeIds: string[] = [];

interface SimulatedNode {
  readonly agent: NodeAgent;
  readonly runtime: BerthRuntime;
  readonly networking: NodeNetworking;
}
const nodes: SimulatedNode[] = [];

/** A node agent whose networking lives in `host` (devices there; names through kept-current hosts files). */
function startNode(index: number): SimulatedNode {
  const state = path.join(api.home, `node-${index}`);
  const nodeName = nodeNames[index];
  const networking = new NodeNetworking({ hostNetns: hosts[index] });
  const overlayPeers = new OverlayPeers({ client: api.client, nodeName, localAddress: vteps[index], underlayDevice: underlay[index] });
  const network = new ApiNetworkProvider({ client: api.client, networking, nodeName, etcRoot: path.join(state, 'network'), overlayPeers });
  const runtime = new BerthRuntime({ root: path.join(state, 'runtime') });
  const agent = new NodeAgent({
    client: api.client,
    nodeName,
    stateDir: state,
    runtime,
    images: new StoreImageProvider(new ImageStore({ root: path.join(state, 'images') })),
    network,
    parts: [network],
    logs: new FileLogProvider(path.join(state, 'logs')),
    backoff: { initialMs: 200, maxMs: 1000, resetAfterMs: 60_000 },
    heartbeatMs: 1000,
  });
  return { agent, runtime, networking };
}

const getContainer = (name: string) => api.client.get<Container>(RESOURCES.containers, name, namespace);
const running = (name: string) =>
  until(async () => {
    const c = await getContainer(name);
    return c.status?.phase === 'Running' && c.status.ip ? (c.status as { ip: string }) : undefined;
  }, 30_000).catch(async (err) => {
    throw new Error(`${name}: ${err.message}: ${JSON.stringify((await getContainer(name)).status)}`);
  });

async function execIn(node: number, name: string, args: string[], timeoutSeconds = 3): Promise<{ code: number; out: string }> {
  const handle = await nodes[node].runtime.exec(`${namespace}.${name}`, { args: ['timeout', String(timeoutSeconds), ...args] }, { stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  handle.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  handle.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { code: (await handle.wait()).exitCode, out };
}

/** The all-zero (flood) FDB entries of the overlay's VXLAN device in host `index`: where broadcasts go. */
async function floodList(index: number): Promise<string[]> {
  const fdb = JSON.parse((await runChecked(['bridge', '-n', hosts[index], '-j', 'fdb', 'show', 'dev', vxlanName(networkUid)])).stdout) as { mac: string; dst?: string }[];
  return fdb.filter((e) => e.mac === '00:00:00:00:00:00' && e.dst).map((e) => e.dst!).sort();
}

beforeAll(async () => {
  const [underlaySubnet, overlaySubnet] = (subnets = await pickFreeSubnets(2));
  vteps = [1, 2].map((h) => underlaySubnet.replace(/0\/24$/, String(h)));
  for (const h of hosts) await createNetns(h);
  await runChecked(['ip', '-n', hosts[0], 'link', 'add', underlay[0], 'type', 'veth', 'peer', 'name', underlay[1], 'netns', hosts[1]]);
  for (let i = 0; i < 2; i++) {
    await runChecked(['ip', '-n', hosts[i], '-batch', '-'], `addr add ${vteps[i]}/24 dev ${underlay[i]}\nlink set ${underlay[i]} up\nlink set lo up\n`);
  }
  api = await startApiServer();
  controller = new NetworkController(api.client);
  await controller.start();
  for (let i = 0; i < 2; i++) nodes.push(startNode(i));
  for (const node of nodes) await node.agent.start();
  await api.client.create(RESOURCES.namespaces, { metadata: { name: namespace } });
  const network = await api.client.create<Network>(RESOURCES.networks, { metadata: { name: 'ov', namespace }, spec: { driver: 'overlay', subnet: overlaySubnet } });
  networkUid = network.metadata.uid!;
  const commands = [['sh', '-c', 'mkdir -p /www && echo served-from-node-one > /www/index.html && exec httpd -f -p 80 -h /www'], ['sleep', '1000']];
  for (const [i, name] of containers.entries()) {
    const obj: KubeObject = { metadata: { name, namespace }, spec: { image: 'busybox', command: commands[i], networks: ['ov'], nodeName: nodeNames[i], terminationGracePeriodSeconds: 1 } };
    const created = await api.client.create<Container>(RESOURCES.containers, obj);
    runtimeIds.push(runtimeIdOf({ metadata: { name, namespace, uid: created.metadata.uid! }, spec: { image: 'busybox' } }));
  }
}, 60_000);

afterAll(async () => {
  for (const node of nodes) {
    node.agent.stop();
    await node.networking.close();
    for (const s of await node.runtime.list()) await node.runtime.delete(s.id, { force: true }).catch(() => undefined);
  }
  await controller?.stop();
  await api?.stop();
  for (const id of runtimeIds) await deleteNetns(containerNetnsName(id));
  for (const h of hosts) await deleteNetns(h);
  releaseSubnets(subnets);
}, 30_000);

test('the controller gives the overlay a VNI and each node publishes its VTEP address on its Node', async () => {
  const status = await until(async () => {
    const st = (await api.client.get<Network>(RESOURCES.networks, 'ov', namespace)).status as NetworkStatus | undefined;
    return st?.vni ? st : undefined;
  });
  expect(status.vni).toBeGreaterThanOrEqual(4096);
  for (const [i, name] of nodeNames.entries()) {
    expect((await api.client.get<BerthNode>(RESOURCES.nodes, name)).metadata.annotations?.[VTEP_ANNOTATION]).toBe(vteps[i]);
  }
});

test('containers scheduled to the two nodes reach each other by address and by name over VXLAN', async () => {
  const [one, two] = [await running('one'), await running('two')];
  for (let i = 0; i < 2; i++) {
    const details = (await runChecked(['ip', '-n', hosts[i], '-d', 'link', 'show', vxlanName(networkUid)])).stdout;
    const { vni } = (await api.client.get<Network>(RESOURCES.networks, 'ov', namespace)).status as NetworkStatus;
    expect(details).toContain(`vxlan id ${vni} local ${vteps[i]} dev ${underlay[i]}`);
    expect(details).toContain(`master ${bridgeName(networkUid)}`);
    expect(await floodList(i)).toEqual([vteps[1 - i]]);
  }
  expect((await execIn(1, 'two', ['ping', '-c', '1', '-W', '2', one.ip])).code).toBe(0);
  const byName = await execIn(1, 'two', ['ping', '-c', '1', '-W', '2', 'one']);
  expect(byName.out).toContain(`PING one (${one.ip})`);
  expect(byName.code).toBe(0);
  const body = await until(async () => {
    const r = await execIn(1, 'two', ['wget', '-q', '-O', '-', `http://one.${namespace}/`]);
    return r.out.includes('served-from-node-one') ? r.out : undefined;
  }, 5000);
  expect(body).toBe('served-from-node-one\n');
  const back = await execIn(0, 'one', ['ping', '-c', '1', '-W', '2', 'two']);
  expect(back.out).toContain(`PING two (${two.ip})`);
  expect(back.code).toBe(0);
  const stats = JSON.parse((await runChecked(['ip', '-n', hosts[0], '-j', '-s', 'link', 'show', vxlanName(networkUid)])).stdout);
  expect(stats[0].stats64.rx.packets).toBeGreaterThan(0); // it did go through the tunnel
});

test('a restarted agent re-adopts the overlay: new containers on the other node resolve, and Nodes joining and leaving change its flood list', async () => {
  nodes[1].agent.stop();
  await nodes[1].networking.close();
  nodes[1] = startNode(1); // a new agent process-equivalent: fresh networking state, same host
  await nodes[1].agent.start();
  const obj: KubeObject = { metadata: { name: 'three', namespace }, spec: { image: 'busybox', command: ['sleep', '1000'], networks: ['ov'], nodeName: nodeNames[0], terminationGracePeriodSeconds: 1 } };
  const created = await api.client.create<Container>(RESOURCES.containers, obj);
  runtimeIds.push(runtimeIdOf({ metadata: { name: 'three', namespace, uid: created.metadata.uid! }, spec: { image: 'busybox' } }));
  const three = await running('three');
  const ping = await until(async () => {
    const r = await execIn(1, 'two', ['ping', '-c', '1', '-W', '2', 'three']);
    return r.code === 0 ? r : undefined;
  }, 5000);
  expect(ping.out).toContain(`PING three (${three.ip})`);

  const third = vteps[0].replace(/\.1$/, '.3');
  const name = `berth-${tag}-n3`;
  await api.client.create(RESOURCES.nodes, { metadata: { name, annotations: { [VTEP_ANNOTATION]: third } }, spec: {} });
  for (let i = 0; i < 2; i++) await until(async () => ((await floodList(i)).includes(third) ? true : undefined));
  expect(await floodList(0)).toEqual([vteps[1], third].sort());
  await api.client.delete(RESOURCES.nodes, name);
  for (let i = 0; i < 2; i++) await until(async () => ((await floodList(i)).includes(third) ? undefined : true));
  expect(await floodList(1)).toEqual([vteps[0]]);
  expect((await execIn(0, 'one', ['ping', '-c', '1', '-W', '2', 'two'])).code).toBe(0);
});

test('deleting the containers and the Network removes every bridge, VXLAN device, veth and namespace', async () => {
  for (const name of [...containers, 'three']) await api.client.delete(RESOURCES.containers, name, { namespace });
  await until(async () => ((await api.client.list(RESOURCES.containers, { namespace })).items.length === 0 ? true : undefined), 20_000);
  await api.client.delete(RESOURCES.networks, 'ov', { namespace });
  await until(async () => ((await api.client.list(RESOURCES.networks, { namespace })).items.length === 0 ? true : undefined));
  for (let i = 0; i < 2; i++) {
    const left = await until(async () => {
      const resources = await listBerthResources(hosts[i]);
      return resources.links.length === 1 && resources.nftTables.length === 0 ? resources : undefined;
    });
    expect(left.links).toEqual([{ name: underlay[i], kind: 'veth' }]); // only the test's own underlay
    expect(left.nftTables).toEqual([]);
  }
  for (const node of nodes) expect(await node.runtime.list()).toEqual([]);
  for (const h of hosts) await deleteNetns(h);
  const everything = await listBerthResources();
  expect(resourcesNamed(everything, [...hosts, ...underlay, ...runtimeIds.map(containerNetnsName), bridgeName(networkUid), vxlanName(networkUid)])).toEqual([]);
  expect(fs.existsSync(`/run/netns/${hosts[0]}`)).toBe(false);
});
