/**
 * An overlay Network across two simulated hosts: two namespaces joined by a veth pair (the underlay), each
 * with the overlay's bridge and VXLAN device, and a container on each. The containers reach each other by
 * address and by name (hosts file), over VXLAN between the two "hosts" only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createNetns,
  deleteNetns,
  listBerthResources,
  OverlayDriver,
  renderHostsFile,
  resourcesNamed,
  validateAddressing,
  vxlanName,
  bridgeName,
  type NetworkConfig,
} from '../../node-agent/network';
import { runChecked } from '../../node-agent/network/command';
import { execInNetns, pickFreeSubnets, releaseSubnets, removeNetnsEtc, testTag, writeNetnsEtc } from '../../node-agent/network/testing';

const tag = testTag();
let subnets: string[] = [];
const hosts = [`berth-${tag}-h1`, `berth-${tag}-h2`];
const containers = [`berth-${tag}-c1`, `berth-${tag}-c2`];
const names = ['one', 'two'];
const underlay = [`berthu${tag}a`, `berthu${tag}b`];
const drivers = hosts.map((h) => new OverlayDriver({ hostNetns: h }));
const nets: NetworkConfig[] = [];
const ips: string[] = [];
const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-overlay-web-'));
const token = `over-the-overlay-${tag}`;
let httpd: ChildProcess | undefined;

const busybox = (i: number, ...args: string[]) => execInNetns(containers[i], ['/bin/busybox', ...args], 3);

beforeAll(async () => {
  const [underlaySubnet, overlaySubnet] = (subnets = await pickFreeSubnets(2));
  const underlayIps = [1, 2].map((h) => underlaySubnet.replace(/0\/24$/, String(h)));
  for (const h of hosts) await createNetns(h);
  await runChecked(['ip', '-n', hosts[0], 'link', 'add', underlay[0], 'type', 'veth', 'peer', 'name', underlay[1], 'netns', hosts[1]]);
  for (let i = 0; i < 2; i++) {
    await runChecked(['ip', '-n', hosts[i], '-batch', '-'], `addr add ${underlayIps[i]}/24 dev ${underlay[i]}\nlink set ${underlay[i]} up\nlink set lo up\n`);
  }
  const addressing = validateAddressing({ subnet: overlaySubnet }, []);
  const vni = 4000 + Math.floor(Math.random() * 100000);
  for (let i = 0; i < 2; i++) {
    nets.push({
      key: `t${tag}/overlay`,
      name: 'overlay',
      namespace: `t${tag}`,
      driver: 'overlay',
      ...addressing,
      overlay: { vni, localAddress: underlayIps[i], remoteAddresses: [underlayIps[1 - i]], underlayDevice: underlay[i] },
    });
    await drivers[i].ensureNetwork(nets[i]);
    ips.push(overlaySubnet.replace(/0\/24$/, String(10 + i)));
    await drivers[i].attach(nets[i], names[i], await createNetns(containers[i]), ips[i]);
  }
  const records = names.map((name, i) => ({ name, namespace: `t${tag}`, addresses: [ips[i]] }));
  for (let i = 0; i < 2; i++) writeNetnsEtc(containers[i], { hosts: renderHostsFile({ self: { hostname: names[i], address: ips[i] }, records }) });
  fs.writeFileSync(path.join(webRoot, 'index.html'), token);
  httpd = spawn('ip', ['netns', 'exec', containers[1], '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', webRoot], { stdio: 'ignore' });
});

afterAll(async () => {
  httpd?.kill('SIGKILL');
  for (const c of containers) {
    removeNetnsEtc(c);
    await deleteNetns(c);
  }
  for (const h of hosts) await deleteNetns(h);
  fs.rmSync(webRoot, { recursive: true, force: true });
  releaseSubnets(subnets);
});

describe('overlay network on two simulated hosts', () => {
  it('builds a bridge with a VXLAN port in each host', async () => {
    for (let i = 0; i < 2; i++) {
      const { links } = await listBerthResources(hosts[i]);
      expect(links).toEqual(
        expect.arrayContaining([
          { name: bridgeName(nets[i].key), kind: 'bridge' },
          { name: vxlanName(nets[i].key), kind: 'vxlan' },
        ]),
      );
    }
    const details = (await runChecked(['ip', '-n', hosts[0], '-d', 'link', 'show', vxlanName(nets[0].key)])).stdout;
    expect(details).toMatch(new RegExp(`vxlan id ${nets[0].overlay!.vni} local ${nets[0].overlay!.localAddress.replace(/\./g, '\\.')}`));
    expect(details).toContain('dstport 4789');
    expect(details).toContain(`master ${bridgeName(nets[0].key)}`);
  });

  it('lets containers on different hosts reach each other by address and by name', async () => {
    expect((await busybox(0, 'ping', '-c', '1', '-W', '2', ips[1])).code).toBe(0);
    const byName = await busybox(1, 'ping', '-c', '1', '-W', '2', names[0]);
    expect(byName.stdout).toContain(`PING ${names[0]} (${ips[0]})`);
    expect(byName.code).toBe(0);
    let body = '';
    for (let attempt = 0; attempt < 20 && body !== token; attempt++) {
      body = (await busybox(0, 'wget', '-q', '-O', '-', `http://${names[1]}.t${tag}/`)).stdout;
      if (body !== token) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe(token);
  });

  it('carries the traffic over the underlay as VXLAN', async () => {
    const stats = JSON.parse((await runChecked(['ip', '-n', hosts[0], '-j', '-s', 'link', 'show', vxlanName(nets[0].key)])).stdout);
    expect(stats[0].stats64.tx.packets).toBeGreaterThan(0);
    expect(stats[0].stats64.rx.packets).toBeGreaterThan(0);
  });

  it('removes the overlay devices and leaves nothing behind', async () => {
    httpd?.kill('SIGKILL');
    httpd = undefined;
    for (let i = 0; i < 2; i++) {
      await drivers[i].detach(nets[i], names[i]);
      await drivers[i].removeNetwork(nets[i]);
      await drivers[i].removeNetwork(nets[i]);
      const left = await listBerthResources(hosts[i]);
      expect(left.links).toEqual([{ name: underlay[i], kind: 'veth' }]);
    }
    for (const c of containers) {
      removeNetnsEtc(c);
      await deleteNetns(c);
    }
    for (const h of hosts) await deleteNetns(h);
    expect(resourcesNamed(await listBerthResources(), [...hosts, ...containers, ...underlay])).toEqual([]);
  });
});
