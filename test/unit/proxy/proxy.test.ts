import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { Endpoint, ServiceProxy, WeightedBalancer } from '../../../node-agent/proxy';
import { proxyThread } from '../../../node-agent/proxy/thread';
import { freePort } from '../../helpers/ports';
import { until } from '../../helpers/until';

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
    await proxy.sync();
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

  /** An echo server whose process is stopped with its accept queue full: a connect to it hangs, as to a frozen container. */
  async function hungEndpoint(): Promise<{ port: number; thaw: () => void; release: () => void }> {
    const child = spawn(process.execPath, ['-e', "require('net').createServer((s) => s.pipe(s)).listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port) })"]);
    const port = Number(await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    process.kill(child.pid!, 'SIGSTOP');
    const fillers = Array.from({ length: 3 }, () => net.connect({ host: '127.0.0.1', port }).on('error', () => undefined));
    await new Promise((r) => setTimeout(r, 50));
    return {
      port,
      thaw: () => process.kill(child.pid!, 'SIGCONT'),
      release: () => {
        for (const f of fillers) f.destroy();
        process.kill(child.pid!, 'SIGKILL');
      },
    };
  }

  it('retries a connect that times out on another endpoint before the client sees a byte, holding the hung endpoint meanwhile', async () => {
    const live = await backend('live');
    const hung = await hungEndpoint();
    try {
      proxy = new ServiceProxy({ port: 0, httpAware: true, connectTimeoutMs: 300 });
      const port = await proxy.listen();
      proxy.setEndpoints([ep('hung', 1, hung.port, 'rev-hung'), ep('live', 1, live, 'rev-live')]);
      const started = Date.now();
      const answers = Promise.all([get(port), get(port)]); // one of the two is sent to the hung endpoint first
      await new Promise((r) => setTimeout(r, 100));
      proxy.setEndpoints([ep('live', 1, live, 'rev-live')]);
      await proxy.sync();
      expect(proxy.connections('hung')).toBe(1); // a connect in progress holds the drain
      expect(proxy.isDrained('hung')).toBe(false);
      expect((await answers).map((a) => a.body)).toEqual(['live', 'live']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      await proxy.sync();
      expect(proxy.isDrained('hung')).toBe(true);
      expect(proxy.stats.snapshot()).toMatchObject({ 'rev-hung': { requests: 1, errors: 1 }, 'rev-live': { requests: 2, errors: 0 } });
    } finally {
      hung.release();
    }
  });

  it('keeps waiting on a slow connect when there is no other endpoint to try', async () => {
    const slow = await hungEndpoint();
    try {
      proxy = new ServiceProxy({ port: 0, connectTimeoutMs: 200 });
      const port = await proxy.listen();
      proxy.setEndpoints([ep('slow', 1, slow.port)]);
      const c = net.connect({ host: '127.0.0.1', port });
      c.write('hello');
      const echoed = new Promise<string>((resolve, reject) => {
        c.once('data', (d: Buffer) => resolve(d.toString()));
        c.once('error', reject);
      });
      await new Promise((r) => setTimeout(r, 500)); // well past the connect timeout
      slow.thaw(); // the kernel's next SYN retransmission gets through
      expect(await echoed).toBe('hello');
      c.destroy();
    } finally {
      slow.release();
    }
  });

  it('holds a new connection while no endpoint is in rotation, and serves it once one comes', async () => {
    const live = await backend('live');
    proxy = new ServiceProxy({ port: 0, endpointWaitMs: 2000 });
    const port = await proxy.listen();
    const answer = get(port);
    await new Promise((r) => setTimeout(r, 200));
    proxy.setEndpoints([ep('live', 1, live)]);
    expect((await answer).body).toBe('live');
  });

  it('drops a connection that found no endpoint within its wait', async () => {
    proxy = new ServiceProxy({ port: 0, endpointWaitMs: 100 });
    const port = await proxy.listen();
    await expect(get(port)).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('answers a client that half-closes after its request, and counts every request of a kept-alive connection', async () => {
    const keepAlive = http.createServer((req, res) => res.end(req.url));
    servers.push(keepAlive);
    await new Promise<void>((r) => keepAlive.listen(0, '127.0.0.1', r));
    proxy = new ServiceProxy({ port: 0, httpAware: true });
    const port = await proxy.listen();
    proxy.setEndpoints([ep('k', 1, (keepAlive.address() as net.AddressInfo).port, 'rev')]);
    const c = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    c.on('data', (d: Buffer) => (reply += d.toString()));
    c.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((r) => {
      const check = () => (reply.endsWith('/one') ? r() : setTimeout(check, 5));
      check();
    });
    c.end('GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'); // FIN right after the request
    await new Promise((r) => c.once('close', r));
    expect(reply).toMatch(/\/one[^]*HTTP\/1.1 200 OK[^]*\/two$/);
    await proxy.sync();
    expect(proxy.stats.snapshot().rev).toMatchObject({ requests: 2, errors: 0 });
  });

  it('counts an HTTP request left unanswered as an error, and nothing for another protocol', async () => {
    const silent = net.createServer((s) => s.resume()); // reads, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    proxy = new ServiceProxy({ port: 0, httpAware: true });
    const port = await proxy.listen();
    proxy.setEndpoints([ep('s', 1, (silent.address() as net.AddressInfo).port, 'rev')]);
    for (const request of ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'hello, not http\n']) {
      const c = net.connect({ host: '127.0.0.1', port });
      c.write(request);
      await new Promise((r) => setTimeout(r, 100));
      c.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    await proxy.sync();
    expect(proxy.stats.snapshot().rev).toMatchObject({ requests: 1, errors: 1 });
    await new Promise((r) => silent.close(r));
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
    expect(proxy.isDrained('e')).toBe(false); // the thread has not applied the new rotation yet
    await proxy.sync();
    expect(proxy.connections('e')).toBe(1);
    expect(proxy.isDrained('e')).toBe(false); // out of the rotation, but a request is still in flight
    c.write('two');
    const reply = await new Promise<string>((r) => c.once('data', (d) => r(d.toString())));
    expect(reply).toBe('two');
    c.destroy();
    await new Promise((r) => setTimeout(r, 20));
    await proxy.sync();
    expect(proxy.connections('e')).toBe(0);
    expect(proxy.isDrained('e')).toBe(true);
    await new Promise((r) => echo.close(r));
  });

  it('comes back on the same port with the same rotation when the proxy thread dies', async () => {
    const live = await backend('live');
    const port = await freePort();
    proxy = new ServiceProxy({ port });
    await proxy.listen();
    proxy.setEndpoints([ep('live', 1, live)]);
    expect((await get(port)).body).toBe('live');
    await (proxyThread as unknown as { worker: Worker }).worker.terminate(); // as if it crashed
    expect(await until(() => get(port).then((r) => r.body), 10_000)).toBe('live');
  });

  it('reports a taken port clearly', async () => {
    proxy = new ServiceProxy({ port: 0 });
    const port = await proxy.listen();
    const second = new ServiceProxy({ port });
    await expect(second.listen()).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    await second.close(); // closed itself already: resolves all the same
  });
});
