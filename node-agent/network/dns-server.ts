/**
 * The embedded DNS server of a Network: one UDP socket on the bridge's gateway address, answering A queries
 * from a `RecordTable`. Names it does not hold get NXDOMAIN: it never forwards, so nothing leaves the node.
 */
import * as dgram from 'node:dgram';
import { buildFormatError, buildResponse, DnsFormatError, parseQuery, RCODE, TYPE_A, CLASS_IN } from './dns-message';
import type { RecordTable } from './dns-records';

export const DNS_PORT = 53;

export interface DnsServerOptions {
  readonly address: string;
  /** 53 unless set (tests and simulated hosts may use another). 0 picks a free port. */
  readonly port?: number;
  /** TTL of answers; 0 (the default) so clients never cache an address that has since changed. */
  readonly ttlSeconds?: number;
}

export class DnsServer {
  private socket?: dgram.Socket;

  constructor(
    private readonly records: RecordTable,
    private readonly options: DnsServerOptions,
  ) {}

  /** Binds the socket; rejects with the address and errno (e.g. EADDRINUSE, EADDRNOTAVAIL) when it cannot. */
  async start(): Promise<{ readonly address: string; readonly port: number }> {
    const socket = dgram.createSocket({ type: 'udp4' });
    socket.on('message', (packet, peer) => {
      const reply = this.answer(packet);
      if (reply) socket.send(reply, peer.port, peer.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) =>
        reject(new Error(`DNS server: bind ${this.options.address}:${this.options.port ?? DNS_PORT}: ${err.message}`, { cause: err })),
      );
      socket.bind(this.options.port ?? DNS_PORT, this.options.address, () => resolve());
    });
    socket.on('error', () => undefined); // a bad peer must not take the server down; the bind errors were handled above.
    this.socket = socket;
    const bound = socket.address();
    return { address: bound.address, port: bound.port };
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** The reply to one packet, or undefined for garbage that is not worth answering. */
  answer(packet: Buffer): Buffer | undefined {
    try {
      const question = parseQuery(packet);
      const opcode = (question.flags >> 11) & 0xf;
      if (opcode !== 0 || question.class !== CLASS_IN) return buildResponse(question, RCODE.notImplemented);
      const addresses = this.records.resolve(question.name);
      if (addresses === undefined) return buildResponse(question, RCODE.nameError);
      // The name exists: other types (AAAA, ...) get an empty NOERROR, so resolvers do not conclude it is missing.
      return buildResponse(question, RCODE.noError, question.type === TYPE_A ? addresses : [], this.options.ttlSeconds ?? 0);
    } catch (err) {
      if (err instanceof DnsFormatError && err.id !== undefined) return buildFormatError(err.id);
      return undefined;
    }
  }
}
