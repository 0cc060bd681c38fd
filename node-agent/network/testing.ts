/**
 * Helpers for tests and benchmarks that run containers as bare network namespaces with busybox
 * (`ip netns exec NS /bin/busybox ...`). Not used by the agent itself.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runChecked, runCommand, type CommandResult } from './command';
import { enclosingCidr, overlaps, parseCidr } from './cidr';

/** Where `ip netns exec NS` finds files it bind-mounts over /etc (hosts, resolv.conf) for that namespace. */
const NETNS_ETC_DIR = '/etc/netns';

/** Reservations of test subnets, so test files running at once never pick the same one: one file per subnet holding a pid. */
const RESERVATIONS_DIR = path.join(os.tmpdir(), 'berth-test-subnets');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reserves `subnet` for this process; false when a live process holds it. */
function reserve(subnet: string): boolean {
  fs.mkdirSync(RESERVATIONS_DIR, { recursive: true });
  const file = path.join(RESERVATIONS_DIR, subnet.replace('/', '_'));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (isAlive(holder)) return false;
      fs.rmSync(file, { force: true }); // left by a process that died
    }
  }
  return false;
}

/**
 * `count` distinct 10.213.X.0/24 subnets that overlap no route or address of this host and no other test's
 * reservation. Give them back with `releaseSubnets` when done.
 */
export async function pickFreeSubnets(count: number): Promise<string[]> {
  const routes = JSON.parse((await runChecked(['ip', '-j', '-4', 'route', 'show', 'table', 'all'])).stdout) as { dst: string }[];
  const addresses = JSON.parse((await runChecked(['ip', '-j', '-4', 'addr', 'show'])).stdout) as {
    addr_info: { local: string; prefixlen: number }[];
  }[];
  const used = [
    ...routes.map((r) => r.dst).filter((dst) => /^[0-9.]+(\/\d+)?$/.test(dst)),
    ...addresses.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)),
  ].map((cidr) => enclosingCidr(cidr, 'host route'));
  const picked: string[] = [];
  for (const byte of crypto.randomBytes(128)) {
    const subnet = `10.213.${1 + (byte % 250)}.0/24`;
    const cidr = parseCidr(subnet, 'test subnet');
    if (!picked.includes(subnet) && !used.some((u) => overlaps(u, cidr)) && reserve(subnet)) picked.push(subnet);
    if (picked.length === count) return picked;
  }
  releaseSubnets(picked);
  throw new Error(`no ${count} free 10.213.X.0/24 subnets on this host`);
}

export function releaseSubnets(subnets: readonly string[]): void {
  for (const subnet of subnets) fs.rmSync(path.join(RESERVATIONS_DIR, subnet.replace('/', '_')), { force: true });
}

/** A short random tag for unique names (`berth-<tag>-...`). */
export function testTag(): string {
  return crypto.randomBytes(3).toString('hex');
}

/** Runs `argv` inside namespace `ns`, killed after `timeoutSeconds`. */
export function execInNetns(ns: string, argv: readonly string[], timeoutSeconds = 5): Promise<CommandResult> {
  return runCommand(['timeout', '-s', 'KILL', String(timeoutSeconds), 'ip', 'netns', 'exec', ns, ...argv]);
}

/** Writes files that `ip netns exec ns` shows at /etc/NAME (e.g. hosts, resolv.conf). */
export function writeNetnsEtc(ns: string, files: Readonly<Record<string, string>>): void {
  const dir = path.join(NETNS_ETC_DIR, ns);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
}

export function removeNetnsEtc(ns: string): void {
  fs.rmSync(path.join(NETNS_ETC_DIR, ns), { recursive: true, force: true });
}
