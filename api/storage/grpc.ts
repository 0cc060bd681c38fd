/**
 * gRPC over one HTTP/2 connection, just what the etcd client needs (etcd-rpc.ts): unary calls and bidirectional
 * streams of already-encoded messages. Written on node:http2 because a general gRPC client (grpc-js behind etcd3:
 * interceptors, resolvers, load balancing, retry policies, dynamic protobuf) cost the API server ~100 µs of CPU per
 * etcd call, most of a create's budget; this costs ~45 µs.
 */
import * as http2 from 'node:http2';

/** A call that did not end with grpc-status 0; `grpcStatus` is gRPC's status code (14: Unavailable). */
export class GrpcError extends Error {
  constructor(
    readonly grpcStatus: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const UNAVAILABLE = 14;
/** Responses larger than this are refused (a list asks for 1,000 objects at a time). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Large flow-control windows: etcd answers lists of 1,000 objects in one message. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const SESSION_WINDOW_BYTES = 32 * 1024 * 1024;

/** Splits the bytes of a gRPC response into its length-prefixed messages. */
export class MessageReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The length of the message whose prefix was read, while its bytes are still arriving. */
  private expected?: number;

  /** Adds a received chunk; returns the messages it completed. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.expected === undefined) {
        if (this.pendingBytes < 5) break;
        const head = this.pending[0].length >= 5 ? this.pending[0] : this.flatten();
        if (head[0] !== 0) throw new GrpcError(UNAVAILABLE, 'etcd sent a compressed gRPC message, which was not asked for');
        this.expected = head.readUInt32BE(1);
        if (this.expected > MAX_MESSAGE_BYTES) throw new GrpcError(UNAVAILABLE, `etcd sent a ${this.expected}-byte message (limit ${MAX_MESSAGE_BYTES})`);
      }
      if (this.pendingBytes < 5 + this.expected) break;
      const all = this.pending.length === 1 ? this.pending[0] : this.flatten();
      messages.push(all.subarray(5, 5 + this.expected));
      const rest = all.subarray(5 + this.expected);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.expected = undefined;
    }
    return messages;
  }

  private flatten(): Buffer {
    const all = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [all];
    return all;
  }
}

/** gRPC leaves room for its 5-byte prefix in front of every message. */
export const GRPC_HEADROOM = 5;

/** gRPC's 5-byte prefix written into the headroom `encodeMessage(fields, GRPC_HEADROOM)` left. */
export function frame(message: Buffer): Buffer {
  message[0] = 0;
  message.writeUInt32BE(message.length - GRPC_HEADROOM, 1);
  return message;
}

/** grpc-message is percent-encoded. */
const statusMessage = (headers: http2.IncomingHttpHeaders): string => {
  const raw = String(headers['grpc-message'] ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
};

/** The status a response's headers or trailers carry, if they carry one. */
export function statusOf(method: string, headers: http2.IncomingHttpHeaders): GrpcError | 'ok' | undefined {
  const status = headers['grpc-status'];
  if (status === undefined) {
    const http = headers[':status'];
    return http !== undefined && Number(http) !== 200 ? new GrpcError(UNAVAILABLE, `${method}: HTTP status ${http}`) : undefined;
  }
  return status === '0' ? 'ok' : new GrpcError(Number(status), `${method}: ${statusMessage(headers)}`);
}

export class GrpcConnection {
  private session?: http2.ClientHttp2Session;
  private nextEndpoint = 0;
  private closed = false;
  /** Sessions that got as far as connecting: a call failing on any other was never sent. */
  private readonly connected = new WeakSet<http2.ClientHttp2Session>();

  /** `endpoints`: `http://host:port` URLs of equal servers; a new connection goes to the next one. */
  constructor(private readonly endpoints: readonly string[]) {
    if (endpoints.length === 0) throw new Error('gRPC connection needs at least one endpoint');
  }

  /** Sends one request message (encoded with 5 bytes of headroom for gRPC's prefix) and resolves with the response message. */
  async unary(method: string, message: Buffer): Promise<Buffer> {
    // Retried only where nothing was sent: a connection that could not be made (the next endpoint is tried), or one
    // that had used up its stream ids (a new connection replaces it).
    for (let attempt = 1; ; attempt++) {
      const session = this.connection();
      try {
        return await this.unaryOn(session, method, message);
      } catch (err) {
        const retry = this.retireIfExhausted(session, (err as Error).cause)
          ? attempt === 1
          : !this.connected.has(session) && attempt < this.endpoints.length;
        if (this.closed || !retry) throw err;
      }
    }
  }

  /** Opens a bidirectional stream; its response bytes are gRPC-framed (see MessageReader). */
  stream(method: string): http2.ClientHttp2Stream {
    const session = this.connection();
    const stream = this.request(session, method);
    stream.once('error', (err) => this.retireIfExhausted(session, err));
    return stream;
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private unaryOn(session: http2.ClientHttp2Session, method: string, message: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.request(session, method);
      const reader = new MessageReader();
      let response: Buffer | undefined;
      let status: GrpcError | 'ok' | undefined;
      let failure: unknown;
      stream.on('response', (headers) => (status = statusOf(method, headers)));
      stream.on('trailers', (trailers) => (status ??= statusOf(method, trailers)));
      stream.on('data', (chunk: Buffer) => {
        try {
          for (const m of reader.push(chunk)) response ??= m;
        } catch (err) {
          failure = err;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
      });
      stream.on('error', (err) => (failure ??= err));
      stream.on('close', () => {
        if (status instanceof GrpcError) reject(status);
        else if (status === 'ok' && response) resolve(response);
        else {
          const why = failure instanceof Error ? failure.message : status === 'ok' ? 'no response message' : `stream closed (code ${stream.rstCode})`;
          reject(new GrpcError(UNAVAILABLE, `${method}: ${why}`, { cause: failure }));
        }
      });
      stream.end(frame(message));
    });
  }

  /**
   * A connection runs out of stream ids after 2^30 calls (days at full speed), and Node then fails every new stream
   * on it: it is closed (calls in flight finish) and the next call opens another. True if that was `err`.
   */
  private retireIfExhausted(session: http2.ClientHttp2Session, err: unknown): boolean {
    if ((err as NodeJS.ErrnoException | undefined)?.code !== 'ERR_HTTP2_OUT_OF_STREAMS') return false;
    if (this.session === session) this.session = undefined;
    session.close();
    return true;
  }

  private request(session: http2.ClientHttp2Session, method: string): http2.ClientHttp2Stream {
    return session.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' });
  }

  /** The open connection, or a new one to the next endpoint. */
  private connection(): http2.ClientHttp2Session {
    if (this.closed) throw new GrpcError(UNAVAILABLE, 'gRPC connection is closed');
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const endpoint = this.endpoints[this.nextEndpoint++ % this.endpoints.length];
    const session = http2.connect(endpoint, { settings: { initialWindowSize: STREAM_WINDOW_BYTES } });
    session.on('connect', () => {
      this.connected.add(session);
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
    });
    // Errors reach the streams; a session that failed or is going away is replaced for the next call.
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.session = session;
    return session;
  }
}
