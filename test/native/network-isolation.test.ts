/**
 * Isolation between Networks when the host forwards IPv4. The "host" is a namespace this test creates and
 * turns forwarding on in (a per-namespace sysctl: the real host's settings are untouched), so the
 * BERTH-ISOLATION rules are what keeps the networks apart. Internal networks get no default route.
 */
import {
  BridgeDriver,
  bridgeName,
  createNetns,
  deleteNetns,
  ForwardIsolation,
  listBerthResources,
  resourcesNamed,
  validateAddressing,
  type NetworkConfig,
} from '../../node-agent/network';
import { runChecked } from '../../node-agent/network/command';
import { execInNetns, pickFreeSubnets, releaseSubnets, testTag } from '../../node-agent/network/testing';

const tag = testTag();
let subnets: string[] = [];
const hostNs = `berth-${tag}-host`;
const driver = new BridgeDriver({ hostNetns: hostNs });
const isolation = new ForwardIsolation(hostNs);
const nsName = (c: string) => `berth-${tag}-${c}`;
const containers = { a1: 'a', a2: 'a', b1: 'b', c1: 'c' } as const;
const nets: Record<string, NetworkConfig> = {};
const ips: Record<string, string> = {};

const ping = (from: string, to: string) => execInNetns(nsName(from), ['/bin/busybox', 'ping', '-c', '1', '-W', '1', to], 3);

beforeAll(async () => {
  await createNetns(hostNs);
  await runChecked(['ip', 'netns', 'exec', hostNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  subnets = await pickFreeSubnets(3);
  ['a', 'b', 'c'].forEach((name, i) => {
    nets[name] = {
      key: `t${tag}/${name}`,
      name,
      namespace: `t${tag}`,
      driver: 'bridge',
      internal: name === 'c',
      ...validateAddressing({ subnet: subnets[i] }, []),
    };
  });
  for (const net of Object.values(nets)) await driver.ensureNetwork(net);
  let host = 10;
  for (const [container, net] of Object.entries(containers)) {
    ips[container] = nets[net].subnet.replace(/0\/24$/, String(host++));
    await driver.attach(nets[net], container, await createNetns(nsName(container)), ips[container]);
  }
});

afterAll(async () => {
  for (const container of Object.keys(containers)) await deleteNetns(nsName(container));
  await deleteNetns(hostNs);
  releaseSubnets(subnets);
});

describe('isolation with forwarding on', () => {
  it('installs rules scoped to the berth bridges', async () => {
    const rules = await isolation.listRules();
    expect(rules).toContain('-A FORWARD -j BERTH-ISOLATION');
    for (const net of Object.values(nets)) {
      const bridge = bridgeName(net.key);
      const own = `BERTH-ISO-${bridge.slice('berth-br-'.length)}`;
      expect(rules).toContain(`-A BERTH-ISOLATION -i ${bridge} -o berth-br-+ -j ${own}`);
      expect(rules).toContain(`-A ${own} -o ${bridge} -j RETURN`);
      expect(rules).toContain(`-A ${own} -j DROP`);
    }
    const internal = bridgeName(nets.c.key);
    expect(rules).toContain(`-A BERTH-ISOLATION -i ${internal} ! -o ${internal} -j DROP`);
    expect(rules).toContain(`-A BERTH-ISOLATION ! -i ${internal} -o ${internal} -j DROP`);
    expect(rules.join('\n')).not.toContain(`-i ${bridgeName(nets.a.key)} ! -o`);
  });

  it('adds each network\'s rules once, however often it is ensured', async () => {
    const before = await isolation.listRules();
    await driver.ensureNetwork(nets.a);
    await driver.ensureNetwork(nets.c);
    expect(await isolation.listRules()).toEqual(before);
  });

  it('lets containers on one network talk and drops traffic between networks', async () => {
    expect((await ping('a1', ips.a2)).code).toBe(0);
    expect((await ping('b1', ips.a1)).code).not.toBe(0);
    expect((await ping('a1', ips.b1)).code).not.toBe(0);
  });

  it('is the isolation chain that separates them: without it the host would route between the networks', async () => {
    // A container of the internal network that gets a route anyway (say it has CAP_NET_ADMIN) is still cut off.
    await runChecked(['ip', '-n', nsName('c1'), 'route', 'add', 'default', 'via', nets.c.gateway]);
    expect((await ping('c1', ips.a1)).code).not.toBe(0);
    await runChecked(['ip', 'netns', 'exec', hostNs, 'iptables', '-w', '-F', 'BERTH-ISOLATION']);
    try {
      expect((await ping('b1', ips.a1)).code).toBe(0);
      expect((await ping('c1', ips.a1)).code).toBe(0);
    } finally {
      for (const net of Object.values(nets)) await driver.ensureNetwork(net); // converges the rules back
      await runChecked(['ip', '-n', nsName('c1'), 'route', 'del', 'default']);
    }
    expect((await ping('b1', ips.a1)).code).not.toBe(0);
  });

  it('gives an internal network no default route', async () => {
    expect((await execInNetns(nsName('c1'), ['ip', 'route', 'show', 'default'])).stdout.trim()).toBe('');
    expect((await execInNetns(nsName('a1'), ['ip', 'route', 'show', 'default'])).stdout).toContain(`via ${nets.a.gateway}`);
    const fromInternal = await ping('c1', ips.a1);
    expect(fromInternal.code).not.toBe(0);
    expect(fromInternal.stderr).toMatch(/unreachable/i);
  });

  it('removes the rules with the networks and leaves nothing behind', async () => {
    for (const [container, net] of Object.entries(containers)) await driver.detach(nets[net], container);
    await driver.removeNetwork(nets.a);
    const afterA = (await isolation.listRules()).join('\n');
    expect(afterA).not.toContain(bridgeName(nets.a.key));
    expect(afterA).not.toContain(`BERTH-ISO-${bridgeName(nets.a.key).slice('berth-br-'.length)}`);
    expect(afterA).toContain(bridgeName(nets.b.key));
    await driver.removeNetwork(nets.b);
    await driver.removeNetwork(nets.c);
    const resources = await listBerthResources(hostNs);
    expect(resources.links).toEqual([]);
    expect(resources.routes).toEqual([]);
    expect(resources.iptablesRules).toEqual([]);
    for (const container of Object.keys(containers)) await deleteNetns(nsName(container));
    await deleteNetns(hostNs);
    expect(resourcesNamed(await listBerthResources(), [hostNs, ...Object.keys(containers).map(nsName)])).toEqual([]);
  });
});
