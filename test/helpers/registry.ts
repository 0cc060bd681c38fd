/**
 * Starts Debian's docker-registry (distribution 2.8) on 127.0.0.1 and a free port with a temp config and
 * storage dir: plain, with htpasswd (bcrypt) basic auth, with bearer tokens from a small token server
 * run in this process (RS256 JWTs with an x5c chain the registry trusts), and/or with TLS from a
 * self-signed certificate. Stopped by pid.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes, sign } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { hashSync } from 'bcryptjs';
import { freePort } from './ports';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface TestRegistryOptions {
  /** Require basic auth (htpasswd) — or, with `token`, require these credentials at the token server. */
  readonly credentials?: { username: string; password: string };
  /** Bearer-token auth through a token server started alongside. */
  readonly token?: boolean;
  readonly tls?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>` — the registry part of image references. */
  readonly host: string;
  readonly url: string;
  /** PEM of the self-signed certificate when `tls` is set. */
  readonly ca?: string;
  readonly pid: number;
  readonly dir: string;
  /** Token requests the token server has answered. */
  readonly tokenRequests: string[];
  stop(): Promise<void>;
}

function selfSigned(dir: string, name: string, cn: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { cert, key };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token server granting every requested repository action to callers with the right credentials (if any). */
async function startTokenServer(dir: string, service: string, issuer: string, creds: TestRegistryOptions['credentials'], log: string[]) {
  const { cert, key } = selfSigned(dir, 'token', 'berth-test-token-signer');
  const der = Buffer.from(fs.readFileSync(cert, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const keyPem = fs.readFileSync(key, 'utf8');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.push(url.search);
    if (creds) {
      const expected = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      if (req.headers.authorization !== expected) {
        res.writeHead(401).end('{"details":"bad credentials"}');
        return;
      }
    }
    const access = url.searchParams.getAll('scope').map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: actions.split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: creds?.username ?? '', aud: service, exp: now + 600, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('RSA-SHA256', Buffer.from(input), keyPem))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 600 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, realm: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`, cert };
}

async function waitReady(url: string, ca: string | undefined, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr()}`);
    const status = await new Promise<number>((resolve) => {
      const mod = url.startsWith('https') ? https : http;
      const req = mod.get(`${url}/v2/`, { ...(ca ? { ca } : {}) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry at ${url} did not become ready: ${stderr()}`);
}

export async function startRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
    'storage:', `  filesystem:`, `    rootdirectory: ${dir}/data`, '  delete:', '    enabled: true',
    'http:', `  addr: ${host}`];
  let ca: string | undefined;
  if (options.tls) {
    const { cert, key } = selfSigned(dir, 'tls', '127.0.0.1');
    ca = fs.readFileSync(cert, 'utf8');
    lines.push('  tls:', `    certificate: ${cert}`, `    key: ${key}`);
  }
  const tokenRequests: string[] = [];
  let tokenServer: http.Server | undefined;
  if (options.token) {
    const t = await startTokenServer(dir, 'berth-test-registry', 'berth-test-issuer', options.credentials, tokenRequests);
    tokenServer = t.server;
    lines.push('auth:', '  token:', `    realm: ${t.realm}`, '    service: berth-test-registry', '    issuer: berth-test-issuer', `    rootcertbundle: ${t.cert}`);
  } else if (options.credentials) {
    const htpasswd = path.join(dir, 'htpasswd');
    fs.writeFileSync(htpasswd, `${options.credentials.username}:${hashSync(options.credentials.password, 4)}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${htpasswd}`);
  }
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, lines.join('\n') + '\n');
  const child = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `${options.tls ? 'https' : 'http'}://${host}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    if (tokenServer) await new Promise((r) => tokenServer?.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, ca, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, url, ...(ca ? { ca } : {}), pid: child.pid as number, dir, tokenRequests, stop };
}
