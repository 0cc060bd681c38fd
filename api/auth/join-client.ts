/**
 * The joining node's side of join.ts / join-router.ts. It depends on nothing but `node:` modules so the agent (which
 * must not import api/ internals) can take it over into client/ unchanged.
 *
 * Trust on first use, pinned: the CA certificate is fetched without verification, then accepted only if its SHA-256
 * matches the fingerprint in the join token; every later request verifies the server against that CA.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';

export interface NodeCredentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** notAfter of certPem. */
  readonly expires: Date;
}

export class JoinError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JoinError';
  }
}

/** Joins the cluster at `server` (https://host:port) as `nodeName` with a `BERTH-1-...` token. */
export async function joinCluster(opts: { server: string; token: string; nodeName: string }): Promise<NodeCredentials> {
  const match = /^BERTH-1-([0-9a-f]{64})-[0-9a-z]+$/.exec(opts.token);
  if (!match) throw new JoinError('join token must look like BERTH-1-<CA fingerprint>-<secret>');
  const caPem = await fetchPinnedCa(opts.server, match[1]);
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const reply = await requestJson(`${opts.server}/join/v1/certificates`, {
    ca: caPem,
    token: opts.token,
    body: { nodeName: opts.nodeName, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  });
  return credentialsFrom(reply, caPem, privateKey);
}

/** A fresh certificate (and key) for the node that holds `current`, signed by the cluster CA. */
export async function renewNodeCertificate(server: string, current: NodeCredentials): Promise<NodeCredentials> {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const reply = await requestJson(`${server}/join/v1/renew`, {
    ca: current.caPem,
    cert: { certPem: current.certPem, keyPem: current.keyPem },
    body: { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  });
  return credentialsFrom(reply, current.caPem, privateKey);
}

/** True once `fraction` (default two thirds) of the certificate's lifetime has passed: time to renew. */
export function shouldRenew(certPem: string, now: number = Date.now(), fraction = 2 / 3): boolean {
  const cert = new crypto.X509Certificate(certPem);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return now >= from + (to - from) * fraction;
}

const CREDENTIAL_FILES = { caPem: 'ca.crt', certPem: 'node.crt', keyPem: 'node.key' } as const;

/** Writes the credentials as `dir/ca.crt`, `node.crt`, `node.key` (mode 0600; each replaced atomically). */
export function saveNodeCredentials(dir: string, creds: NodeCredentials): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [field, name] of Object.entries(CREDENTIAL_FILES)) {
    const file = path.join(dir, name);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, creds[field as keyof typeof CREDENTIAL_FILES], { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
}

/** The credentials saveNodeCredentials wrote, or undefined if `dir` holds none (the node has not joined yet). */
export function loadNodeCredentials(dir: string): NodeCredentials | undefined {
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
  if (!Object.values(CREDENTIAL_FILES).every((name) => fs.existsSync(path.join(dir, name)))) return undefined;
  const certPem = read(CREDENTIAL_FILES.certPem);
  return { caPem: read(CREDENTIAL_FILES.caPem), certPem, keyPem: read(CREDENTIAL_FILES.keyPem), expires: new Date(new crypto.X509Certificate(certPem).validTo) };
}

/**
 * What the agent runs at start and then periodically (say hourly): join with `token` if `dir` holds no credentials,
 * renew them once two thirds of their life has passed, and return the ones to use.
 */
export async function ensureNodeCredentials(opts: {
  server: string;
  dir: string;
  nodeName: string;
  token?: string;
  now?: number;
}): Promise<NodeCredentials> {
  const current = loadNodeCredentials(opts.dir);
  if (current === undefined) {
    if (!opts.token) throw new JoinError(`no node credentials in ${opts.dir} and no join token to get them`);
    const joined = await joinCluster({ server: opts.server, token: opts.token, nodeName: opts.nodeName });
    saveNodeCredentials(opts.dir, joined);
    return joined;
  }
  if (!shouldRenew(current.certPem, opts.now)) return current;
  const renewed = await renewNodeCertificate(opts.server, current);
  saveNodeCredentials(opts.dir, renewed);
  return renewed;
}

async function fetchPinnedCa(server: string, fingerprintHex: string): Promise<string> {
  const { caPem } = (await requestJson(`${server}/join/v1/ca`, { insecure: true })) as { caPem?: string };
  if (typeof caPem !== 'string') throw new JoinError(`${server} did not return a CA certificate`);
  const actual = crypto.createHash('sha256').update(new crypto.X509Certificate(caPem).raw).digest('hex');
  if (actual !== fingerprintHex) {
    throw new JoinError(`the CA of ${server} (sha256:${actual}) does not match the join token's (sha256:${fingerprintHex})`);
  }
  return caPem;
}

function credentialsFrom(reply: unknown, caPem: string, privateKey: crypto.KeyObject): NodeCredentials {
  const { certPem } = reply as { certPem?: string };
  if (typeof certPem !== 'string') throw new JoinError('the server did not return a certificate');
  const cert = new crypto.X509Certificate(certPem);
  if (!cert.checkPrivateKey(privateKey)) throw new JoinError('the returned certificate is not for our key');
  if (!cert.verify(new crypto.X509Certificate(caPem).publicKey)) throw new JoinError('the returned certificate is not signed by the pinned CA');
  return {
    caPem,
    certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    expires: new Date(cert.validTo),
  };
}

interface JsonRequest {
  readonly ca?: string;
  /** Only to fetch the CA certificate, which is then checked against the pinned fingerprint. */
  readonly insecure?: boolean;
  readonly token?: string;
  readonly cert?: { certPem: string; keyPem: string };
  readonly body?: unknown;
}

function requestJson(url: string, opts: JsonRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = https.request(
      url,
      {
        method: payload === undefined ? 'GET' : 'POST',
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        cert: opts.cert?.certPem,
        key: opts.cert?.keyPem,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch (err) {
            return reject(new JoinError(`${url}: HTTP ${res.statusCode}, not JSON`, { cause: err }));
          }
          if ((res.statusCode ?? 0) >= 300) {
            const message = (body as { message?: string }).message ?? text;
            return reject(new JoinError(`${url}: HTTP ${res.statusCode}: ${message}`));
          }
          resolve(body);
        });
      },
    );
    req.on('error', (err) => reject(new JoinError(`${url}: ${err.message}`, { cause: err })));
    req.end(payload);
  });
}
