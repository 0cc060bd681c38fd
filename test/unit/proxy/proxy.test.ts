import * as http from 'node:http';
import * as net from 'node:net';
import { Endpoint, ServiceProxy, WeightedBalancer } from '../../../node-agent/proxy';

const ep = (id: string, weight: number, port = 1, group = id): Endpoint => ({ id, host: '127.0.0.1', port, weight, group });

describe('WeightedBalancer', () => {
  it('follows the weights exactly over a full cycle and never bursts the small one', () => {
    const b = new WeightedBalancer();
    b.set([ep('stable', 90), ep('canary', 10)]);
    const picks = Array.from({ length: 100 }, () => b.pick()!.id);
    expect(picks.filter((p) => p === 'canary')).toHaveLength(10);
    for (let i = 1; i < picks.length; i++) expect(picks[i] === 'canary' && picks[i - 1] === 'canary').toBe(false);
  });

  it('skips excluded and zero-weight endpoints', () => {
    const b = new WeightedBalancer();
    b.set([ep('a', 1), ep('b', 1), ep('c', 0)]);
    expect(b.size()).toBe(2);
    expect(b.pick(new Set(['a']))!.id).toBe('b');
    expect(b.pick(new Set(['a', 'b']))).toBeUndefined();
  });
});

describe('ServiceProxy with real sockets', () => {
  const servers: http.Server[] = [];
  async function backend(name: string, status = 200): Promise<number> {
    const s = http.createServer((_req, res) => {
      res.statusCode = status;
      res.setHeader('Connection', 'close');
      res.end(name);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as net.AddressInfo).port;
  }
  const get = (port: number): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        })
        .on('error', reject);
    });
  let proxy: ServiceProxy;
  afterEach(async () => {
    await proxy?.close();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('splits connections by weight and counts per-revision outcomes', async () => {
    const v1 = await backend('v1');
    const v2 = await backend('v2', 503);
    proxy = new ServiceProxy({ port: 0, httpAware: true });
    const port = await proxy.listen();
    proxy.setEndpoints([ep('a', 3, v1, 'rev1'), ep('b', 1, v2, 'rev2')]);
    const bodies: string[] = [];
    for (let i = 0; i < 40; i++) bodies.push((await get(port)).body);
    expect(bodies.filter((b) => b === 'v2')).toHaveLength(10);
    const stats = proxy.stats.snapshot();
    expect(stats.rev1).toMatchObject({ requests: 30, errors: 0 });
    expect(stats.rev2).toMatchObject({ requests: 10, errors: 10, errorRate: 1 });
  });

  it('retries a refused endpoint on another one', async () => {
    const live = await backend('live');
    const dead = await backend('dead');
    await new Promise((r) => servers.pop()!.close(r));
    proxy = new ServiceProxy({ port: 0 });
    const port = await proxy.listen();
    proxy.setEndpoints([ep('dead', 1, dead), ep('live', 1, live)]);
    for (let i = 0; i < 4; i++) expect((await get(port)).body).toBe('live');
  });

  it('lets an open connection finish after its endpoint leaves the rotation', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    proxy = new ServiceProxy({ port: 0 });
    const port = await proxy.listen();
    proxy.setEndpoints([ep('e', 1, (echo.address() as net.AddressInfo).port)]);
    const c = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => c.once('connect', r));
    c.write('one');
    await new Promise((r) => c.once('data', r));
    expect(proxy.isDrained('e')).toBe(false);
    proxy.setEndpoints([]);
    expect(proxy.connections('e')).toBe(1);
    expect(proxy.isDrained('e')).toBe(false); // out of the rotation, but a request is still in flight
    c.write('two');
    const reply = await new Promise<string>((r) => c.once('data', (d) => r(d.toString())));
    expect(reply).toBe('two');
    c.destroy();
    await new Promise((r) => setTimeout(r, 20));
    expect(proxy.connections('e')).toBe(0);
    expect(proxy.isDrained('e')).toBe(true);
    await new Promise((r) => echo.close(r));
  });

  it('reports a taken port clearly', async () => {
    proxy = new ServiceProxy({ port: 0 });
    const port = await proxy.listen();
    const second = new ServiceProxy({ port });
    await expect(second.listen()).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });
});
