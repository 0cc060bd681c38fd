import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Endpoint, ServiceProxy } from '../../../node-agent/proxy';
import { decodeToken, encodeToken } from '../../../node-agent/proxy/protocol';
import { freePort } from '../../helpers/ports';
import { until } from '../../helpers/until';

/** berth-proxy processes that are children of this one. */
function relayPids(): number[] {
  const children = fs
    .readdirSync(`/proc/${process.pid}/task`)
    .flatMap((tid) => fs.readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  return children.filter((pid) => {
    try {
      return running(pid) && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'berth-proxy';
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Whether process `pid` exists and is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const ep = (id: string, weight: number, port = 1, group = id): Endpoint => ({ id, host: '127.0.0.1', port, weight, group });

describe('relay protocol tokens', () => {
  it('round-trips ids and groups whatever their characters, never producing a space or report punctuation', () => {
    for (const s of ['', 'web-0a1b2c-3', 'a b', 'x=1,y+2!', '%41', 'ünïcödé ✓', '_']) {
      const token = encodeToken(s);
      expect(token).toMatch(/^_[A-Za-z0-9._%-]*$/);
      expect(decodeToken(token)).toBe(s);
    }
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
  /** Everything an endpoint sends on a new connection through `port`, once it closes. */
  const readAll = (port: number): Promise<string> =>
    new Promise((resolve, reject) => {
      let out = '';
      net
        .connect({ host: '127.0.0.1', port })
        .on('data', (d: Buffer) => (out += d.toString()))
        .on('close', () => resolve(out))
        .on('error', reject);
    });
  /** Sends `ping` on a new connection through `port` and resolves with what came back first (an echo endpoint). */
  const echoOnce = (port: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const c = net.connect({ host: '127.0.0.1', port }, () => c.write('ping'));
      c.once('data', (d: Buffer) => {
        resolve(d.toString());
        c.destroy();
      });
      c.once('error', reject);
      c.once('close', () => reject(new Error('closed without an answer')));
    });
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
  /** A ServiceProxy on a free port in front of one echo endpoint, `e`; resolves with the port. */
  async function proxyToEcho(): Promise<number> {
    const echo = net.createServer((s) => s.pipe(s));
    servers.push(echo as unknown as http.Server);
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    proxy = new ServiceProxy({ port: 0 }); // port 0: a restarted relay must reuse the port it got, not pick anew
    const port = await proxy.listen();
    proxy.setEndpoints([ep('e', 1, (echo.address() as net.AddressInfo).port)]);
    return port;
  }
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
    // Timed from the request's first byte to the response's: more than nothing, less than the whole test.
    expect(stats.rev1.latencyP50Ms).toBeGreaterThan(0);
    expect(stats.rev1.latencyP99Ms).toBeLessThan(1000);
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

  it('comes back on the same port with the same rotation when the relay process dies, counts reset', async () => {
    const port = await proxyToEcho();
    const held = net.connect({ host: '127.0.0.1', port });
    await new Promise((r) => held.once('connect', r));
    held.write('x');
    await new Promise((r) => held.once('data', r));
    await proxy.sync();
    expect(proxy.connections('e')).toBe(1);
    const [pid] = relayPids();
    process.kill(pid, 'SIGKILL'); // as if it crashed
    await new Promise((r) => held.once('close', r)); // its connections died with it
    expect(await until(() => echoOnce(port).catch(() => undefined), 10_000)).toBe('ping');
    expect(relayPids()).not.toContain(pid);
    const countOf = async () => (await proxy.sync(), proxy.connections('e'));
    expect(await until(async () => (await countOf()) === 0 || undefined, 2000)).toBe(true);
  });

  it('never bursts a small weight and never picks a zero weight (smooth weighted round-robin in the relay)', async () => {
    const named = async (name: string) => {
      const s = net.createServer((c) => c.end(name));
      servers.push(s as unknown as http.Server);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return (s.address() as net.AddressInfo).port;
    };
    proxy = new ServiceProxy({ port: 0 });
    const port = await proxy.listen();
    proxy.setEndpoints([ep('stable', 90, await named('stable')), ep('canary', 10, await named('canary')), ep('off', 0, await named('off'))]);
    const picks: string[] = [];
    for (let i = 0; i < 100; i++) picks.push(await readAll(port));
    expect(picks.filter((p) => p === 'canary')).toHaveLength(10);
    expect(picks.filter((p) => p === 'off')).toHaveLength(0);
    for (let i = 1; i < picks.length; i++) expect(picks[i] === 'canary' && picks[i - 1] === 'canary').toBe(false);
  });

  it('relays megabytes both ways through a slow reader (backpressure), intact', async () => {
    const port = await proxyToEcho();
    const data = crypto.randomBytes(8 << 20);
    const c = net.connect({ host: '127.0.0.1', port });
    c.pause(); // nothing read for a while: the relay holds what the kernel buffers cannot
    c.end(data);
    await new Promise((r) => setTimeout(r, 300));
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d)).resume();
    await new Promise((r) => c.once('close', r));
    expect(crypto.createHash('sha256').update(Buffer.concat(got)).digest('hex')).toBe(crypto.createHash('sha256').update(data).digest('hex'));
  });

  it('lets the client go on sending after the endpoint shut its side (half-close the other way)', async () => {
    let received = '';
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    const upstream = net.createServer({ allowHalfOpen: true }, (c) => {
      c.end('bye'); // FIN first, then read everything the client still sends
      c.on('data', (d: Buffer) => (received += d.toString()));
      c.on('end', ended);
    });
    servers.push(upstream as unknown as http.Server);
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    proxy = new ServiceProxy({ port: 0 });
    const port = await proxy.listen();
    proxy.setEndpoints([ep('e', 1, (upstream.address() as net.AddressInfo).port)]);
    const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const closed = new Promise((r) => c.once('close', r));
    let reply = '';
    c.on('data', (d: Buffer) => (reply += d.toString()));
    await new Promise((r) => c.once('end', r)); // the endpoint's FIN came through
    c.write('still ');
    c.end('talking');
    await done;
    expect(reply).toBe('bye');
    expect(received).toBe('still talking');
    await closed;
  });

  it('reports the count of a drained endpoint falling to zero within a few milliseconds, without being asked', async () => {
    const port = await proxyToEcho();
    const c = net.connect({ host: '127.0.0.1', port });
    c.write('x');
    await new Promise((r) => c.once('data', r));
    proxy.setEndpoints([]);
    expect(await until(() => proxy.connections('e') === 1 || undefined, 1000)).toBe(true); // the acknowledgement carries the count
    c.destroy();
    const closedAt = Date.now();
    while (!proxy.isDrained('e') && Date.now() - closedAt < 1000) await new Promise((r) => setTimeout(r, 2));
    // 10 ms in the relay plus the event loops of a busy machine: well short of the 250 ms batches of other counts.
    expect(Date.now() - closedAt).toBeLessThan(200);
  });

  it('reports a taken port or a host name clearly, and a rotation sent to a closed proxy afterwards harms no one', async () => {
    const port = await proxyToEcho();
    const [pid] = relayPids();
    const second = new ServiceProxy({ port });
    await expect(second.listen()).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    await second.close(); // closed itself already: resolves all the same
    second.setEndpoints([ep('late', 1, 1)]); // as the agent may, before it learns of the failure
    const named = new ServiceProxy({ host: 'localhost', port: 0 });
    await expect(named.listen()).rejects.toThrow('cannot listen on localhost:0: an IP address and a port are needed');
    await named.close();
    expect(await echoOnce(port)).toBe('ping');
    expect(relayPids()).toEqual([pid]);
  });
});

describe('berth-proxy process', () => {
  const binary = path.join(__dirname, '../../../native/build/berth-proxy');

  it('dies with its parent even while its control channel stays open', async () => {
    // sh starts it with stdin on fd 3, a pipe this test keeps open: only the parent's death can end it.
    const sh = spawn('sh', ['-c', `${binary} $$ <&3 & echo $!; wait`], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    const pid = Number(await new Promise<string>((resolve) => sh.stdout!.once('data', (d: Buffer) => resolve(d.toString()))));
    await new Promise((r) => setTimeout(r, 100));
    expect(running(pid)).toBe(true);
    sh.kill('SIGKILL');
    expect(await until(() => !running(pid) || undefined, 2000)).toBe(true);
    (sh.stdio[3] as net.Socket).destroy();
  });

  it('leaves no process behind once the last proxy is closed', async () => {
    expect(await until(() => relayPids().length === 0 || undefined, 5000)).toBe(true);
  });
});
