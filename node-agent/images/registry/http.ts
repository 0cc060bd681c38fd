/** A minimal HTTP(S) client for registries: keep-alive agents, an optional private CA, redirects. */
import * as http from 'http';
import * as https from 'https';
import { Readable } from 'stream';

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** A buffer, or a factory so a request can be replayed after an auth challenge. */
  readonly body?: Buffer | (() => Readable);
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: http.IncomingMessage;
}

export interface TransportOptions {
  /** Extra CA certificate(s) (PEM) to trust for HTTPS. */
  readonly ca?: string | Buffer;
}

export class Transport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent: https.Agent;

  constructor(options: TransportOptions = {}) {
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, ...(options.ca ? { ca: options.ca } : {}) });
  }

  /** Sends one request; follows up to 5 redirects (dropping Authorization when the host changes). */
  async send(req: HttpRequest, redirects = 5): Promise<HttpResponse> {
    const res = await this.once(req);
    const location = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(res.status) && location && redirects > 0 && (req.method === 'GET' || req.method === 'HEAD')) {
      res.body.resume();
      const next = new URL(location, req.url);
      const headers = { ...req.headers };
      if (next.host !== new URL(req.url).host) delete headers.authorization;
      return this.send({ ...req, url: next.toString(), headers }, redirects - 1);
    }
    return res;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private once(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = { 'user-agent': 'berth', ...req.headers };
    if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
    return new Promise((resolve, reject) => {
      const r = (isHttps ? https : http).request(url, { method: req.method, headers, agent: isHttps ? this.httpsAgent : this.httpAgent }, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      r.on('error', (err) => reject(new Error(`${req.method} ${req.url}: ${err.message}`, { cause: err })));
      if (req.body === undefined) r.end();
      else if (Buffer.isBuffer(req.body)) r.end(req.body);
      else {
        const src = req.body();
        src.on('error', (err) => r.destroy(err));
        src.pipe(r);
      }
    });
  }
}

export async function readBody(res: HttpResponse, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw new Error(`response body exceeds ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
