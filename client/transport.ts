/**
 * How the client reaches the server: HTTP/2 over TLS (one connection, many streams — what kube-apiserver and Berth
 * prefer) for https URLs, HTTP/1.1 with keep-alive for plain http URLs.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import type { ClientConfig } from './kubeconfig';

export interface OpenResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
  /** Aborts the exchange (ends a watch). */
  destroy(): void;
}

export interface Transport {
  /** `payload` as a Readable is streamed (the response may start before it ends). */
  /** `target`: the path and query. */
  open(method: string, target: string, headers: Record<string, string | number>, payload?: Buffer | Readable): Promise<OpenResponse>;
  close(): void;
}

export class Http1Transport implements Transport {
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(private readonly origin: string) {}

  open(method: string, target: string, headers: Record<string, string | number>, payload?: Buffer | Readable): Promise<OpenResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request(this.origin + target, { method, headers, agent: this.agent }, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, destroy: () => res.destroy() }),
      );
      req.on('error', reject);
      if (payload instanceof Readable) payload.pipe(req);
      else req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export class Http2Transport implements Transport {
  private session?: http2.ClientHttp2Session;
  /** Streams in flight: while any is open the session keeps the process alive (a CLI must wait for its answer). */
  private active = 0;

  constructor(
    private readonly origin: string,
    private readonly config: ClientConfig,
  ) {}

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.origin, {
      ca: this.config.caPem,
      cert: this.config.certPem,
      key: this.config.keyPem,
      rejectUnauthorized: !this.config.insecureSkipTlsVerify,
      settings: { initialWindowSize: 4 * 1024 * 1024, maxFrameSize: 1024 * 1024 - 1 },
    });
    session.on('connect', () => session.setLocalWindowSize(16 * 1024 * 1024));
    // A session with no open streams must not keep the process alive.
    session.unref();
    session.on('error', () => undefined);
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.on('goaway', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  open(method: string, target: string, headers: Record<string, string | number>, payload?: Buffer | Readable): Promise<OpenResponse> {
    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      let session: http2.ClientHttp2Session;
      try {
        const h2headers: http2.OutgoingHttpHeaders = { ':method': method, ':path': target };
        for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'content-length' || payload) h2headers[k.toLowerCase()] = v;
        session = this.connect();
        stream = session.request(h2headers, { endStream: !payload });
        if (this.active++ === 0) session.ref();
      } catch (err) {
        reject(err);
        return;
      }
      let answered = false;
      // One listener per event for the whole exchange (this runs for every request).
      stream.on('close', () => {
        if (--this.active === 0) session.unref();
        // A stream can end without a response (connection lost, server killed): that is a failure, not a hang.
        if (!answered) reject(new Error(`${method} ${target.split('?')[0]}: the connection closed before a response`));
      });
      stream.on('error', (err: NodeJS.ErrnoException) => {
        // After 2^30 requests a connection has no stream ids left and Node fails every new stream on it: replace it.
        if (err.code === 'ERR_HTTP2_OUT_OF_STREAMS' && this.session === session) {
          this.session = undefined;
          session.close();
        }
        if (!answered) reject(err);
      });
      stream.once('response', (h) => {
        answered = true;
        resolve({
          status: Number(h[':status'] ?? 0),
          headers: h as Record<string, string | string[] | undefined>,
          body: stream,
          destroy: () => stream.close(http2.constants.NGHTTP2_CANCEL),
        });
      });
      if (payload instanceof Readable) payload.pipe(stream);
      else if (payload) stream.end(payload);
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}

export const transportFor = (config: ClientConfig): Transport => {
  const url = new URL(config.server);
  return url.protocol === 'https:' ? new Http2Transport(url.origin, config) : new Http1Transport(url.origin);
};
