import * as net from 'node:net';
import { PortInUseError, TcpForwarder } from '../../../node-agent/network/port-forwarder';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function request(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
    socket.end(payload);
  });
}

describe('TcpForwarder', () => {
  const upstream = net.createServer((socket) => {
    socket.once('data', (chunk) => socket.end(`echo:${chunk.toString()}`));
  });
  let upstreamPort: number;
  beforeAll(async () => {
    upstreamPort = await listen(upstream);
  });
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it('forwards each connection to the target picked for it', async () => {
    let picks = 0;
    const forwarder = new TcpForwarder({ hostPort: 0, pickTarget: () => (picks++, { address: '127.0.0.1', port: upstreamPort }) });
    const port = await forwarder.start();
    try {
      expect(await request(port, 'one')).toBe('echo:one');
      expect(await request(port, 'two')).toBe('echo:two');
      expect(picks).toBe(2);
    } finally {
      await forwarder.stop();
    }
    await expect(request(port, 'x')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a connection when there is no target', async () => {
    const forwarder = new TcpForwarder({ hostPort: 0, pickTarget: () => undefined });
    const port = await forwarder.start();
    try {
      expect(await request(port, 'x').catch(() => '')).toBe('');
    } finally {
      await forwarder.stop();
    }
  });

  it('names the port when it is already in use', async () => {
    const first = new TcpForwarder({ hostPort: 0, pickTarget: () => undefined });
    const port = await first.start();
    try {
      const second = new TcpForwarder({ hostPort: port, pickTarget: () => undefined });
      const attempt = second.start();
      await expect(attempt).rejects.toBeInstanceOf(PortInUseError);
      await expect(attempt).rejects.toThrow(`published port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await first.stop();
    }
  });
});
