/**
 * An overlay Network across two simulated hosts: two namespaces joined by a veth pair (the underlay), each
 * with the overlay's bridge, VXLAN port and anycast gateway, and a container on each. Each "host" runs the
 * embedded DNS server on its gateway (a node agent would; here it is a small process started in the host's
 * namespace). The containers reach each other by address and by name, over VXLAN between the two hosts only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  bridgeMacAddress,
  bridgeName,
  createNetns,
  deleteNetns,
  gatewayFilterTableName,
  listBerthResources,
  OverlayDriver,
  renderHostsFile,
  renderResolvConf,
  resourcesNamed,
  validateAddressing,
  vxlanName,
  type NetworkConfig,
} from '../../node-agent/network';
import { runChecked } from '../../node-agent/network/command';
import { execInNetns, pickFreeSubnets, releaseSubnets, removeNetnsEtc, testTag, writeNetnsEtc } from '../../node-agent/network/testing';

const tag = testTag();
let subnets: string[] = [];
const namespace = `t${tag}`;
const hosts = [`berth-${tag}-h1`, `berth-${tag}-h2`];
const containers = [`berth-${tag}-c1`, `berth-${tag}-c2`];
const names = ['one', 'two'];
const underlay = [`berthu${tag}a`, `berthu${tag}b`];
const drivers = hosts.map((h) => new OverlayDriver({ hostNetns: h }));
const nets: NetworkConfig[] = [];
const ips: string[] = [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-overlay-'));
const token = `over-the-overlay-${tag}`;
const processes: ChildProcess[] = [];

const busybox = (i: number, ...args: string[]) => execInNetns(containers[i], ['/bin/busybox', ...args], 3);

/** The embedded DNS server as a standalone script (transpiled from the sources), to run inside a simulated host. */
function writeDnsServerScript(): string {
  const dir = path.join(scratch, 'dns');
  fs.mkdirSync(dir);
  for (const module of ['dns-message', 'dns-records', 'dns-server']) {
    const source = fs.readFileSync(path.join(__dirname, '../../node-agent/network', `${module}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
    fs.writeFileSync(path.join(dir, `${module}.js`), outputText);
  }
  const main = path.join(dir, 'main.js');
  fs.writeFileSync(
    main,
    `const { RecordTable } = require('./dns-records');
const { DnsServer } = require('./dns-server');
const [address, namespace, records] = process.argv.slice(2);
const table = new RecordTable(namespace);
for (const record of JSON.parse(records)) table.set(record);
new DnsServer(table, { address }).start().then(() => process.stdout.write('ready\\n'), (err) => { console.error(err.message); process.exit(1); });
`,
  );
  return main;
}

function startInNetns(ns: string, argv: string[], readyLine?: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(child);
  if (!readyLine) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes(readyLine)) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}: ${output}`)));
  });
}

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
      key: `${namespace}/overlay`,
      name: 'overlay',
      namespace,
      driver: 'overlay',
      ...addressing,
      overlay: { vni, localAddress: underlayIps[i], remoteAddresses: [underlayIps[1 - i]], underlayDevice: underlay[i] },
    });
    await drivers[i].ensureNetwork(nets[i]);
    ips.push(overlaySubnet.replace(/0\/24$/, String(10 + i)));
    await drivers[i].attach(nets[i], names[i], await createNetns(containers[i]), ips[i]);
  }
  const records = names.map((name, i) => ({ name, namespace, addresses: [ips[i]] }));
  const dnsServer = writeDnsServerScript();
  for (let i = 0; i < 2; i++) {
    await startInNetns(hosts[i], [process.execPath, dnsServer, nets[i].gateway, namespace, JSON.stringify(records)], 'ready');
  }
  // Container one resolves through its host's DNS server, container two through its hosts file.
  writeNetnsEtc(containers[0], { 'resolv.conf': renderResolvConf({ nameservers: [nets[0].gateway], namespace }) });
  writeNetnsEtc(containers[1], { hosts: renderHostsFile({ self: { hostname: names[1], address: ips[1] }, records }) });
  fs.mkdirSync(path.join(scratch, 'www'));
  fs.writeFileSync(path.join(scratch, 'www', 'index.html'), token);
  await startInNetns(containers[1], ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', path.join(scratch, 'www')]);
});

afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  for (const c of containers) {
    removeNetnsEtc(c);
    await deleteNetns(c);
  }
  for (const h of hosts) await deleteNetns(h);
  fs.rmSync(scratch, { recursive: true, force: true });
  releaseSubnets(subnets);
});

describe('overlay network on two simulated hosts', () => {
  it('builds a bridge with a VXLAN port and the same gateway address and MAC in each host', async () => {
    for (let i = 0; i < 2; i++) {
      const { links, nftTables } = await listBerthResources(hosts[i]);
      expect(links).toEqual(
        expect.arrayContaining([
          { name: bridgeName(nets[i].key), kind: 'bridge' },
          { name: vxlanName(nets[i].key), kind: 'vxlan' },
        ]),
      );
      expect(nftTables).toEqual([`bridge ${gatewayFilterTableName(nets[i].key)}`]);
      const [bridge] = JSON.parse((await runChecked(['ip', '-n', hosts[i], '-j', 'addr', 'show', bridgeName(nets[i].key)])).stdout);
      expect(bridge.address).toBe(bridgeMacAddress(nets[i].key));
      expect(bridge.addr_info.map((a: { local: string }) => a.local)).toEqual([nets[i].gateway]); // no fe80:: to collide
    }
    const details = (await runChecked(['ip', '-n', hosts[0], '-d', 'link', 'show', vxlanName(nets[0].key)])).stdout;
    expect(details).toMatch(new RegExp(`vxlan id ${nets[0].overlay!.vni} local ${nets[0].overlay!.localAddress.replace(/\./g, '\\.')}`));
    expect(details).toContain('dstport 4789');
    expect(details).toContain(`master ${bridgeName(nets[0].key)}`);
  });

  it('lets containers on different hosts reach each other by address and by name (DNS and hosts file)', async () => {
    expect((await busybox(0, 'ping', '-c', '1', '-W', '2', ips[1])).code).toBe(0);
    const lookup = await busybox(0, 'nslookup', names[1], nets[0].gateway);
    expect(lookup.stdout).toContain(`Address: ${ips[1]}`);
    let body = '';
    for (let attempt = 0; attempt < 20 && body !== token; attempt++) {
      body = (await busybox(0, 'wget', '-q', '-O', '-', `http://${names[1]}.${namespace}/`)).stdout;
      if (body !== token) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe(token);
    const byHostsFile = await busybox(1, 'ping', '-c', '1', '-W', '2', names[0]);
    expect(byHostsFile.stdout).toContain(`PING ${names[0]} (${ips[0]})`);
    expect(byHostsFile.code).toBe(0);
  });

  it('keeps each container on its own host as gateway: gateway ARP never crosses the VXLAN', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await execInNetns(containers[i], ['ip', 'route', 'show', 'default'])).stdout).toContain(`default via ${nets[i].gateway} dev eth0`);
      expect((await busybox(i, 'ping', '-c', '1', '-W', '2', nets[i].gateway)).code).toBe(0);
    }
    // A host learns a container's address only from ARP that reached it: its own container's, never the other's.
    for (let i = 0; i < 2; i++) {
      const neighbours = (await runChecked(['ip', '-n', hosts[i], 'neigh', 'show', 'dev', bridgeName(nets[i].key)])).stdout;
      expect(neighbours).toContain(ips[i]);
      expect(neighbours).not.toContain(`${ips[1 - i]} `);
    }
  });

  it('is the gateway filter that keeps the ARP local: without it the other host answers too', async () => {
    for (const h of hosts) await runChecked(['ip', 'netns', 'exec', h, 'nft', 'delete', 'table', 'bridge', gatewayFilterTableName(nets[0].key)]);
    try {
      await runChecked(['ip', '-n', containers[0], 'neigh', 'flush', 'all']);
      expect((await busybox(0, 'ping', '-c', '1', '-W', '2', nets[0].gateway)).code).toBe(0);
      const neighbours = (await runChecked(['ip', '-n', hosts[1], 'neigh', 'show', 'dev', bridgeName(nets[1].key)])).stdout;
      expect(neighbours).toContain(`${ips[0]} `);
    } finally {
      for (let i = 0; i < 2; i++) await drivers[i].ensureNetwork(nets[i]);
    }
    expect((await listBerthResources(hosts[1])).nftTables).toEqual([`bridge ${gatewayFilterTableName(nets[1].key)}`]);
  });

  it('keeps the flood list equal to the remote nodes as they come and go', async () => {
    const floodList = async () =>
      (JSON.parse((await runChecked(['bridge', '-n', hosts[0], '-j', 'fdb', 'show', 'dev', vxlanName(nets[0].key)])).stdout) as { mac: string; dst?: string }[])
        .filter((e) => e.mac === '00:00:00:00:00:00')
        .map((e) => e.dst)
        .sort();
    const other = nets[0].overlay!.remoteAddresses[0];
    const extra = other.replace(/\.\d+$/, '.99');
    await drivers[0].ensureNetwork({ ...nets[0], overlay: { ...nets[0].overlay!, remoteAddresses: [other, extra] } });
    expect(await floodList()).toEqual([other, extra].sort());
    await drivers[0].ensureNetwork(nets[0]);
    expect(await floodList()).toEqual([other]);
    expect((await busybox(0, 'ping', '-c', '1', '-W', '2', ips[1])).code).toBe(0);
  });

  it('recreates the VXLAN device when the Network gets another VNI', async () => {
    const vniOf = async () => JSON.parse((await runChecked(['ip', '-n', hosts[0], '-d', '-j', 'link', 'show', vxlanName(nets[0].key)])).stdout)[0].linkinfo.info_data.id;
    const moved = { ...nets[0], overlay: { ...nets[0].overlay!, vni: nets[0].overlay!.vni + 1 } };
    await drivers[0].ensureNetwork(moved);
    expect(await vniOf()).toBe(moved.overlay.vni);
    await drivers[0].ensureNetwork(nets[0]);
    expect(await vniOf()).toBe(nets[0].overlay!.vni);
    const details = (await runChecked(['ip', '-n', hosts[0], '-d', 'link', 'show', vxlanName(nets[0].key)])).stdout;
    expect(details).toContain(`master ${bridgeName(nets[0].key)}`);
    expect((await busybox(0, 'ping', '-c', '1', '-W', '2', ips[1])).code).toBe(0);
  });

  it('carries the traffic over the underlay as VXLAN', async () => {
    const stats = JSON.parse((await runChecked(['ip', '-n', hosts[0], '-j', '-s', 'link', 'show', vxlanName(nets[0].key)])).stdout);
    expect(stats[0].stats64.tx.packets).toBeGreaterThan(0);
    expect(stats[0].stats64.rx.packets).toBeGreaterThan(0);
  });

  it('removes the overlay devices and filters and leaves nothing behind', async () => {
    for (const p of processes) p.kill('SIGKILL');
    for (let i = 0; i < 2; i++) {
      await drivers[i].detach(nets[i], names[i]);
      await drivers[i].removeNetwork(nets[i]);
      await drivers[i].removeNetwork(nets[i]);
      const left = await listBerthResources(hosts[i]);
      expect(left.links).toEqual([{ name: underlay[i], kind: 'veth' }]);
      expect(left.nftTables).toEqual([]);
    }
    for (const c of containers) {
      removeNetnsEtc(c);
      await deleteNetns(c);
    }
    for (const h of hosts) await deleteNetns(h);
    expect(resourcesNamed(await listBerthResources(), [...hosts, ...containers, ...underlay])).toEqual([]);
  });
});
