import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderHostsFile, renderResolvConf, writeInPlace } from '../../../node-agent/network/etc-files';

describe('hosts and resolv.conf', () => {
  it('renders every name form of each record, the container itself first', () => {
    const text = renderHostsFile({
      self: { hostname: 'web-1', address: '10.213.1.2' },
      records: [
        { name: 'db', namespace: 'shop', addresses: ['10.213.1.3'] },
        { name: 'gone', namespace: 'shop', addresses: [] },
      ],
    });
    expect(text.split('\n')).toEqual([
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      '10.213.1.2\tweb-1',
      '10.213.1.3\tdb db.shop db.shop.berth.local',
      '',
    ]);
  });

  it('points resolv.conf at the network DNS with the namespace search path', () => {
    expect(renderResolvConf({ nameservers: ['10.213.1.1'], namespace: 'shop' })).toBe(
      'nameserver 10.213.1.1\nsearch shop.berth.local berth.local\noptions ndots:1 timeout:1 attempts:2\n',
    );
  });

  it('rewrites in place, keeping the inode a bind mount refers to', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-etc-'));
    try {
      const file = path.join(dir, 'hosts');
      writeInPlace(file, 'one\n');
      const inode = fs.statSync(file).ino;
      writeInPlace(file, 'two\n');
      expect(fs.statSync(file).ino).toBe(inode);
      expect(fs.readFileSync(file, 'utf8')).toBe('two\n');
      expect(() => writeInPlace(path.join(dir, 'missing', 'hosts'), 'x')).toThrow(/^write .*missing\/hosts: ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
