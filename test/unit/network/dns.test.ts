import * as dgram from 'node:dgram';
import { buildQuery, parseQuery, parseResponseAddresses, RCODE } from '../../../node-agent/network/dns-message';
import { RecordTable } from '../../../node-agent/network/dns-records';
import { DnsServer } from '../../../node-agent/network/dns-server';

function newTable(): RecordTable {
  const table = new RecordTable('shop');
  table.set({ name: 'web', namespace: 'shop', addresses: ['10.213.1.2'] });
  table.set({ name: 'api', namespace: 'shop', addresses: ['10.213.1.3', '10.213.1.4'] });
  table.set({ name: 'db', namespace: 'other', addresses: ['10.213.1.9'] });
  return table;
}

describe('RecordTable.resolve', () => {
  it.each([
    ['web', ['10.213.1.2']],
    ['WEB.', ['10.213.1.2']],
    ['web.shop', ['10.213.1.2']],
    ['web.shop.berth.local', ['10.213.1.2']],
    ['api.shop.berth.local.', ['10.213.1.3', '10.213.1.4']],
    ['db.other', ['10.213.1.9']],
    ['db', undefined],
    ['web.berth.local', undefined],
    ['example.com', undefined],
    ['a.web.shop.berth.local', undefined],
  ])('%s → %j', (name, expected) => {
    expect(newTable().resolve(name)).toEqual(expected);
  });

  it('follows set and delete', () => {
    const table = newTable();
    table.set({ name: 'web', namespace: 'shop', addresses: ['10.213.1.7'] });
    expect(table.resolve('web')).toEqual(['10.213.1.7']);
    table.delete('web', 'shop');
    expect(table.resolve('web')).toBeUndefined();
    expect(table.list().map((r) => r.name).sort()).toEqual(['api', 'db']);
  });
});

describe('DNS wire format', () => {
  it('round-trips a query', () => {
    const q = parseQuery(buildQuery(0x1234, 'Web.Shop.berth.local'));
    expect(q).toMatchObject({ id: 0x1234, name: 'web.shop.berth.local', type: 1, class: 1 });
  });

  it.each([
    [Buffer.alloc(5), /shorter than a header/],
    [Buffer.from(buildQuery(1, 'web').fill(0x80, 2, 3)), /is a response/],
    [buildQuery(1, 'web').subarray(0, 15), /past the end/],
  ])('rejects malformed queries (%#)', (packet, message) => {
    expect(() => parseQuery(packet)).toThrow(message);
  });
});

describe('DnsServer', () => {
  let server: DnsServer;
  let port: number;
  const table = newTable();
  beforeAll(async () => {
    server = new DnsServer(table, { address: '127.0.0.1', port: 0 });
    port = (await server.start()).port;
  });
  afterAll(() => server.stop());

  function ask(packet: Buffer): Promise<Buffer> {
    const client = dgram.createSocket('udp4');
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no DNS answer in 2 s')), 2000);
      client.once('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      client.send(packet, port, '127.0.0.1');
    }).finally(() => client.close());
  }

  it('answers A queries over UDP and follows record changes', async () => {
    expect(parseResponseAddresses(await ask(buildQuery(7, 'api.shop')))).toEqual({ rcode: RCODE.noError, addresses: ['10.213.1.3', '10.213.1.4'] });
    table.set({ name: 'late', namespace: 'shop', addresses: ['10.213.1.20'] });
    expect(parseResponseAddresses(await ask(buildQuery(8, 'late'))).addresses).toEqual(['10.213.1.20']);
    table.delete('late', 'shop');
    expect(parseResponseAddresses(await ask(buildQuery(9, 'late'))).rcode).toBe(RCODE.nameError);
  });

  it('returns NXDOMAIN for foreign names (never forwards) and NODATA for AAAA of a known name', async () => {
    const reply = await ask(buildQuery(10, 'example.com'));
    expect(reply.readUInt16BE(0)).toBe(10);
    expect(reply.readUInt16BE(2) & 0x8400).toBe(0x8400); // QR and AA
    expect(parseResponseAddresses(reply)).toEqual({ rcode: RCODE.nameError, addresses: [] });
    expect(parseResponseAddresses(await ask(buildQuery(11, 'web', 28)))).toEqual({ rcode: RCODE.noError, addresses: [] });
  });

  it('answers FORMERR to a malformed query and ignores garbage', () => {
    const twoQuestions = buildQuery(12, 'web');
    twoQuestions.writeUInt16BE(2, 4);
    expect(server.answer(twoQuestions)?.readUInt16BE(2)).toBe(0x8000 | RCODE.formatError);
    expect(server.answer(Buffer.from('hi'))).toBeUndefined();
  });

  it('reports a taken address with the errno', async () => {
    const clash = new DnsServer(table, { address: '127.0.0.1', port });
    await expect(clash.start()).rejects.toThrow(`DNS server: bind 127.0.0.1:${port}: bind EADDRINUSE`);
  });
});
