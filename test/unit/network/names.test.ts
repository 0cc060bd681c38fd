import { bridgeMacAddress, bridgeName, containerNetnsName, hostVethName, vxlanName } from '../../../node-agent/network/names';
import { netnsArgument } from '../../../node-agent/network/ip-batch';

describe('device names', () => {
  it('fit IFNAMSIZ, carry the berth prefix and differ per key', () => {
    const names = [bridgeName('shop/a'), bridgeName('shop/b'), vxlanName('shop/a'), hostVethName('shop/a', 'c1'), hostVethName('shop/a', 'c2')];
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(15);
      expect(name.startsWith('berth')).toBe(true);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(bridgeName('shop/a')).toMatch(/^berth-br-[0-9a-f]{6}$/);
    expect(hostVethName('shop/a', 'c1')).toMatch(/^berthv[0-9a-f]{9}$/);
  });

  it('gives each bridge a fixed, locally administered unicast MAC', () => {
    const mac = bridgeMacAddress('shop/a');
    expect(mac).toMatch(/^02:b7(:[0-9a-f]{2}){4}$/);
    expect(bridgeMacAddress('shop/a')).toBe(mac);
    expect(bridgeMacAddress('shop/b')).not.toBe(mac);
  });

  it('names namespaces after safe container ids and hashes the rest', () => {
    expect(containerNetnsName('web-1.abc')).toBe('berth-web-1.abc');
    expect(containerNetnsName('../etc')).toMatch(/^berth-[0-9a-f]{16}$/);
  });

  it('gives ip -n a name under /run/netns or a path relative to it', () => {
    expect(netnsArgument('/run/netns/berth-x')).toBe('berth-x');
    expect(netnsArgument('berth-x')).toBe('berth-x');
    expect(netnsArgument('/proc/42/ns/net')).toBe('../../proc/42/ns/net');
  });
});
