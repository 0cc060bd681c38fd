/**
 * OCI distribution API v2 client for one registry: manifests, blob HEAD/GET, uploads, cross-repo mounts.
 * Loopback registries are tried over HTTPS first and fall back to plain HTTP, as Docker does.
 */
import { Readable } from 'stream';
import { DigestMismatchError, sha256 } from '../digest';
import { isInsecureByDefault } from '../refs';
import { MediaType } from '../media';
import { AuthError, Authenticator, Credentials } from './auth';
import { HttpRequest, HttpResponse, readBody, Transport } from './http';

export interface RegistryClientOptions {
  /** PEM CA certificate(s) to trust for this registry's TLS. */
  readonly ca?: string | Buffer;
  readonly credentials?: Credentials;
  /** Force a scheme; by default HTTPS, with a plain-HTTP fallback for loopback registries. */
  readonly scheme?: 'http' | 'https';
}

export class RegistryError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerList].join(', ');

export interface FetchedManifest {
  readonly body: Buffer;
  readonly mediaType: string;
  /** Docker-Content-Digest as the registry reported it, if it did. */
  readonly digest?: string;
}

export class RegistryClient {
  private readonly transport: Transport;
  private readonly auth: Authenticator;
  private scheme: Promise<'http' | 'https'> | undefined;

  constructor(readonly registry: string, options: RegistryClientOptions = {}) {
    this.transport = new Transport({ ...(options.ca ? { ca: options.ca } : {}) });
    this.auth = new Authenticator(this.transport, options.credentials);
    if (options.scheme) this.scheme = Promise.resolve(options.scheme);
  }

  close(): void {
    this.transport.close();
  }

  async getManifest(repo: string, reference: string): Promise<FetchedManifest> {
    const res = await this.request('GET', repo, `manifests/${reference}`, pull(repo), { headers: { accept: MANIFEST_ACCEPT } });
    const body = await readBody(res);
    if (res.status !== 200) throw await statusError(res, `GET manifest ${repo}:${reference}`, body);
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim();
    const digest = res.headers['docker-content-digest'];
    return { body, mediaType, ...(typeof digest === 'string' ? { digest } : {}) };
  }

  /** Uploads a manifest; rejects if the registry reports a digest other than the bytes' own. */
  async putManifest(repo: string, reference: string, body: Buffer, mediaType: string): Promise<void> {
    const res = await this.request('PUT', repo, `manifests/${reference}`, push(repo), { headers: { 'content-type': mediaType }, body });
    if (res.status !== 201 && res.status !== 200) throw await statusError(res, `PUT manifest ${repo}:${reference}`);
    res.body.resume();
    const reported = res.headers['docker-content-digest'];
    if (typeof reported === 'string' && reported !== sha256(body)) throw new DigestMismatchError(sha256(body), reported, `manifest pushed to ${repo}:${reference}`);
  }

  /** Size of the blob if the repository has it. */
  async blobSize(repo: string, digest: string): Promise<number | undefined> {
    const res = await this.request('HEAD', repo, `blobs/${digest}`, pull(repo));
    res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await statusError(res, `HEAD blob ${repo}@${digest}`);
    return Number(res.headers['content-length']);
  }

  async getBlob(repo: string, digest: string): Promise<Readable> {
    const res = await this.request('GET', repo, `blobs/${digest}`, pull(repo));
    if (res.status !== 200) throw await statusError(res, `GET blob ${repo}@${digest}`);
    return res.body;
  }

  /** Asks the registry to mount a blob from another repository; true if it did (201). */
  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    const q = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`;
    const res = await this.request('POST', repo, `blobs/uploads/${q}`, `${push(repo)} ${pull(fromRepo)}`);
    res.body.resume();
    if (res.status === 201) return true;
    if (res.status === 202) {
      // the registry started an ordinary upload instead; cancel it, the caller uploads
      const location = res.headers.location;
      if (location) await this.request('DELETE', repo, '', push(repo), {}, await this.resolve(location)).then((r) => r.body.resume()).catch(() => undefined);
      return false;
    }
    throw await statusError(res, `mount blob ${digest} from ${fromRepo} into ${repo}`);
  }

  /** Monolithic upload: POST to open a session, PUT the content with its digest. */
  async uploadBlob(repo: string, digest: string, size: number, open: () => Readable): Promise<void> {
    const start = await this.request('POST', repo, 'blobs/uploads/', push(repo));
    start.body.resume();
    if (start.status !== 202 || !start.headers.location) throw await statusError(start, `start upload of ${digest} to ${repo}`);
    const url = new URL(await this.resolve(start.headers.location));
    url.searchParams.set('digest', digest);
    const res = await this.request('PUT', repo, '', push(repo), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body: open,
    }, url.toString());
    res.body.resume();
    if (res.status !== 201) throw await statusError(res, `upload blob ${digest} to ${repo}`);
  }

  private async baseUrl(): Promise<string> {
    if (!this.scheme) this.scheme = this.detectScheme();
    // Docker Hub's API lives on its own host
    return `${await this.scheme}://${this.registry === 'docker.io' ? 'registry-1.docker.io' : this.registry}`;
  }

  private async resolve(location: string): Promise<string> {
    return new URL(location, await this.baseUrl()).toString();
  }

  private async detectScheme(): Promise<'http' | 'https'> {
    if (!isInsecureByDefault(this.registry)) return 'https';
    try {
      const res = await this.transport.send({ method: 'GET', url: `https://${this.registry}/v2/` });
      res.body.resume();
      return 'https';
    } catch (err) {
      // a TLS server whose certificate we do not trust must not be silently retried as plain HTTP
      const code = String((err as { cause?: { code?: string } }).cause?.code ?? '');
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) throw err;
      return 'http';
    }
  }

  /** Sends a request for `repo` with the auth `scope` it needs, answering one auth challenge. */
  private async request(method: string, repo: string, suffix: string, scope: string,
    init: Pick<HttpRequest, 'headers' | 'body'> = {}, absoluteUrl?: string): Promise<HttpResponse> {
    const url = absoluteUrl ?? `${await this.baseUrl()}/v2/${repo}/${suffix}`;
    for (let attempt = 0; ; attempt++) {
      const authorization = this.auth.header(scope);
      const res = await this.transport.send({ method, url, ...init, headers: { ...init.headers, ...(authorization ? { authorization } : {}) } });
      if (res.status !== 401) return res;
      res.body.resume();
      if (attempt > 0) throw new AuthError(`${method} ${url}: unauthorized after authenticating (scope ${scope})`);
      await this.auth.answer(res.headers['www-authenticate'] as string | undefined, scope, authorization !== undefined);
    }
  }
}

function pull(repo: string): string {
  return `repository:${repo}:pull`;
}

function push(repo: string): string {
  return `repository:${repo}:pull,push`;
}

async function statusError(res: HttpResponse, what: string, body?: Buffer): Promise<RegistryError> {
  const text = (body ?? (await readBody(res, 1 << 16).catch(() => Buffer.alloc(0)))).toString('utf8').slice(0, 300);
  return new RegistryError(res.status, `${what}: registry answered ${res.status}${text ? `: ${text}` : ''}`);
}
