/**
 * Published ports: a TCP listener on the host (127.0.0.1 by default) that forwards each connection to a
 * container address. The target is chosen per connection, so the service proxy can spread connections
 * over endpoints by weight with the same class.
 */
import * as net from 'node:net';

export interface PortTarget {
  readonly address: string;
  readonly port: number;
}

export interface ForwarderOptions {
  readonly hostPort: number;
  /** 127.0.0.1 unless set. */
  readonly hostAddress?: string;
  /** Picks the target of a new connection; undefined refuses it (no ready endpoint). */
  readonly pickTarget: () => PortTarget | undefined;
}

export class PortInUseError extends Error {
  constructor(
    readonly hostAddress: string,
    readonly hostPort: number,
    options?: { cause: unknown },
  ) {
    super(`published port ${hostPort} on ${hostAddress} is already in use`, options);
    this.name = 'PortInUseError';
  }
}

export class TcpForwarder {
  private server?: net.Server;
  private readonly connections = new Set<net.Socket>();

  constructor(private readonly options: ForwarderOptions) {}

  get hostAddress(): string {
    return this.options.hostAddress ?? '127.0.0.1';
  }

  /** Listens; rejects with `PortInUseError` when the port is taken. Resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new PortInUseError(this.hostAddress, this.options.hostPort, { cause: err })
            : new Error(`listen ${this.hostAddress}:${this.options.hostPort}: ${err.message}`, { cause: err }),
        ),
      );
      server.listen({ port: this.options.hostPort, host: this.hostAddress, exclusive: true }, () => resolve());
    });
    this.server = server;
    return (server.address() as net.AddressInfo).port;
  }

  /** Stops listening and cuts the connections in flight. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.connections) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private forward(client: net.Socket): void {
    const target = this.options.pickTarget();
    if (!target) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: target.address, port: target.port, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      this.connections.add(socket);
      socket.setNoDelay(true);
      socket.once('close', () => this.connections.delete(socket));
    }
    // Half-open sockets let a FIN pass through pipe() while the reply still flows back; an error or a full close ends both.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
