/** 200 containers attached and detached on one bridge network leave no veth, bridge, route or namespace behind. */
import {
  allocateAddress,
  BridgeDriver,
  bridgeName,
  createNetns,
  deleteNetns,
  EMPTY_IPAM_STATE,
  hostVethName,
  listBerthResources,
  releaseAddress,
  resourcesNamed,
  validateAddressing,
  type IpamState,
  type NetworkConfig,
} from '../../node-agent/network';
import { runChecked } from '../../node-agent/network/command';
import { pickFreeSubnets, releaseSubnets, testTag } from '../../node-agent/network/testing';

const CONTAINERS = 200;
const PARALLEL = 4;
const tag = testTag();
let subnets: string[] = [];
const driver = new BridgeDriver();
let net: NetworkConfig;
let ipam: IpamState = EMPTY_IPAM_STATE;
const ids = Array.from({ length: CONTAINERS }, (_, i) => `c${i}`);
const nsName = (id: string) => `berth-${tag}-${id}`;

beforeAll(async () => {
  const [subnet] = (subnets = await pickFreeSubnets(1));
  // No ensureNetwork: the first attaches (4 at once) find the bridge missing and create it.
  net = { key: `t${tag}/churn`, name: 'churn', namespace: `t${tag}`, driver: 'bridge', ...validateAddressing({ subnet }, []) };
});

afterAll(async () => {
  for (const id of ids) await deleteNetns(nsName(id));
  await driver.removeNetwork(net);
  releaseSubnets(subnets);
});

async function cycle(id: string): Promise<string> {
  const allocation = allocateAddress(net, ipam, id);
  ipam = allocation.state;
  const attachment = await driver.attach(net, id, await createNetns(nsName(id)), allocation.address);
  await driver.detach(net, id);
  await deleteNetns(nsName(id));
  ipam = releaseAddress(ipam, id);
  return attachment.address!;
}

it(`attaches and detaches ${CONTAINERS} containers without leftovers`, async () => {
  const used = new Set<string>();
  for (let i = 0; i < ids.length; i += PARALLEL) {
    for (const address of await Promise.all(ids.slice(i, i + PARALLEL).map(cycle))) used.add(address);
  }
  // Released addresses are reused, so 200 containers in batches of 4 never needed more than 4 addresses.
  expect(used.size).toBe(PARALLEL);
  expect(ipam.allocations).toEqual({});
  await driver.removeNetwork(net);
  const names = [bridgeName(net.key), ...ids.map((id) => hostVethName(net.key, id)), ...ids.map(nsName)];
  expect(resourcesNamed(await listBerthResources(), names)).toEqual([]);
  const prefix = net.subnet.replace(/0\/24$/, '');
  expect((await runChecked(['ip', '-4', 'route', 'show', 'table', 'all'])).stdout).not.toContain(prefix);
  expect((await runChecked(['ip', '-4', 'addr', 'show'])).stdout).not.toContain(prefix);
});
