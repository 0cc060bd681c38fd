/**
 * Issue 8 end to end with real processes: a `berth agent --join URL --token T` child process (dist/) joins a real API
 * server with a token from `berth token create`, runs a Container that reads a granted Secret under its node
 * certificate, and is refused after `berth node revoke`; `berth token rotate` stops old tokens but not the joined
 * node; a node cannot read a Secret no Container of its own uses; `berth secrets reencrypt` rotates the key while the
 * cluster keeps working; the secret's value appears in no 422, Event, `berth describe` output, audit log or agent log.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { certificateFingerprint, joinCluster } from '../../api/auth';
import { ApiClient, Container, KubeObject, RESOURCES } from '../../client';
import { NetworkController } from '../../controllers/network';
import { bridgeName, listBerthResources, resourcesNamed } from '../../node-agent/network';
import { pickFreeSubnets, releaseSubnets } from '../../node-agent/network/testing';
import { BerthRuntime } from '../../node-agent/runtime';
import { startApiServer, TestApiServer } from '../helpers/apiserver';

const MAIN = path.resolve(__dirname, '../../dist/cli/main.js');
const PLAINTEXT = 'hunter2-join-secret-value';
const ROTATED = 'hunter3-after-reencrypt';
const run = promisify(execFile);

const until = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('a node joined with a token (berth agent --join)', () => {
  let api: TestApiServer;
  let networks: NetworkController;
  let subnets: string[];
  let agentHome: string;
  let agent: ChildProcess;
  let agentExited: Promise<number | null>;
  let agentOutput = '';
  let nodeClient: ApiClient;
  let firstToken: string;
  const nodeName = `berth-join-${crypto.randomBytes(3).toString('hex')}`;
  const berth = (args: string[], home = api.home) =>
    run(process.execPath, [MAIN, ...args], { env: { ...process.env, BERTH_HOME: home, KUBECONFIG: api.kubeconfigPath } });
  const credentials = () => path.join(agentHome, 'node', 'credentials');
  const runtime = () => new BerthRuntime({ root: path.join(agentHome, 'node', 'runtime') });
  const container = (name: string) => api.client.get<Container>(RESOURCES.containers, name, 'default');

  beforeAll(async () => {
    subnets = await pickFreeSubnets(1);
    api = await startApiServer();
    networks = new NetworkController(api.client, { pool: { cidr: subnets[0], prefixLength: 26 } });
    await networks.start();
    agentHome = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-joined-'));
    await api.client.create(RESOURCES.secrets, { metadata: { name: 'db', namespace: 'default' }, stringData: { password: PLAINTEXT } } as KubeObject);
    await api.client.create(RESOURCES.secrets, { metadata: { name: 'elsewhere', namespace: 'default' }, stringData: { password: 'other-node-only' } } as KubeObject);
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await agentExited;
    }
    nodeClient?.close();
    await networks.stop();
    for (const s of await runtime().list()) await runtime().delete(s.id, { force: true }).catch(() => undefined);
    await api.stop();
    releaseSubnets(subnets);
    fs.rmSync(agentHome, { recursive: true, force: true });
  });

  it('berth token create prints BERTH-1-<CA fingerprint>-<secret>', async () => {
    firstToken = (await berth(['token', 'create'])).stdout.trim();
    const fingerprint = certificateFingerprint(api.server.caPem).replace('sha256:', '');
    expect(firstToken).toMatch(new RegExp(`^BERTH-1-${fingerprint}-[0-9a-z]{20,}$`));
    await expect(berth(['token', 'create', '--role', 'boss'])).rejects.toThrow(/--role must be worker or manager/);
    expect((await berth(['token', 'create', '--role', 'manager', '--ttl', '1h'])).stdout).toMatch(/^BERTH-1-/);
  });

  it('joins, registers its Node under its node certificate, and keeps the credentials 0600', async () => {
    agent = spawn(process.execPath, [MAIN, 'agent', '--join', api.url, '--token', firstToken, '--node-name', nodeName], {
      env: { ...process.env, BERTH_HOME: agentHome, KUBECONFIG: '/nonexistent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agentExited = new Promise((resolve) => agent.once('exit', (code) => resolve(code)));
    agent.stdout!.on('data', (d: Buffer) => (agentOutput += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentOutput += d.toString()));
    await until('the agent reports it runs', async () => agentOutput.includes(`agent running as node ${nodeName} (node certificate)`), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nagent output:\n${agentOutput}`);
    });
    const node = await api.client.get<KubeObject>(RESOURCES.nodes, nodeName);
    expect(node.metadata.name).toBe(nodeName);
    for (const file of ['ca.crt', 'node.crt', 'node.key']) expect(fs.statSync(path.join(credentials(), file)).mode & 0o777).toBe(0o600);
    const cert = new crypto.X509Certificate(fs.readFileSync(path.join(credentials(), 'node.crt')));
    expect(cert.subject).toContain(`CN=system:node:${nodeName}`);
    expect(cert.verify(new crypto.X509Certificate(api.server.caPem).publicKey)).toBe(true);
    // About 90 days (the default validity).
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(89 * 86400_000);
    nodeClient = new ApiClient({
      server: api.url,
      namespace: 'default',
      caPem: api.server.caPem,
      certPem: fs.readFileSync(path.join(credentials(), 'node.crt'), 'utf8'),
      keyPem: fs.readFileSync(path.join(credentials(), 'node.key'), 'utf8'),
    });
    expect((await nodeClient.request('GET', nodeClient.path(RESOURCES.nodes, undefined, nodeName))).status).toBe(200);
  });

  it('runs a Container that reads its granted Secret', async () => {
    await api.client.create(RESOURCES.containers, {
      metadata: { name: 'granted', namespace: 'default' },
      spec: { nodeName, image: 'busybox', command: ['sleep', '1000'], secrets: [{ name: 'db' }] },
    } as KubeObject);
    await until('granted runs', async () => (await container('granted')).status?.phase === 'Running');
    const exec = async (argv: string[]) => {
      const h = await runtime().exec('default.granted', { args: argv }, { stdout: 'pipe', stderr: 'pipe' });
      let out = '';
      h.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      h.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await h.wait();
      return out;
    };
    expect(await exec(['cat', '/run/secrets/db/password'])).toBe(PLAINTEXT);
    // The agent put its finalizer on the Container with the node's own credentials.
    expect((await container('granted')).metadata.finalizers).toContain('berth.dev/agent');
  });

  it('lets the node read the Secret its Container uses, and no other (403)', async () => {
    await api.client.create(RESOURCES.containers, {
      metadata: { name: 'on-other-node', namespace: 'default' },
      spec: { nodeName: 'some-other-node', image: 'busybox', command: ['sleep', '1000'], secrets: [{ name: 'elsewhere' }] },
    } as KubeObject);
    const get = (name: string) => nodeClient.request('GET', nodeClient.path(RESOURCES.secrets, 'default', name));
    expect((await get('db')).status).toBe(200);
    const refused = await get('elsewhere');
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).not.toContain('other-node-only');
    expect((await nodeClient.request('GET', nodeClient.path(RESOURCES.secrets, 'default'))).status).toBe(403);
    // Nor may it read the other node's Container, or list Containers beyond its own and those of Services.
    expect((await nodeClient.request('GET', nodeClient.path(RESOURCES.containers, ''))).status).toBe(403);
    const ofServices = await nodeClient.request('GET', nodeClient.path(RESOURCES.containers, ''), { query: { labelSelector: 'berth.dev/service' } });
    expect([ofServices.status, (ofServices.body as { items: unknown[] }).items]).toEqual([200, []]);
    expect((await nodeClient.request('GET', nodeClient.path(RESOURCES.containers, 'default', 'on-other-node'))).status).toBe(403);
    await api.client.delete(RESOURCES.containers, 'on-other-node', { namespace: 'default' });
  });

  it('berth token rotate invalidates old tokens but not the joined node', async () => {
    const rotated = (await berth(['token', 'rotate'])).stdout.trim();
    expect(rotated).toMatch(/^BERTH-1-/);
    expect(rotated).not.toBe(firstToken);
    await expect(joinCluster({ server: api.url, token: firstToken, nodeName: 'late-node' })).rejects.toThrow(/401/);
    const joined = await joinCluster({ server: api.url, token: rotated, nodeName: 'late-node' });
    expect(new crypto.X509Certificate(joined.certPem).subject).toContain('CN=system:node:late-node');
    // The joined agent keeps working: it renews its Lease and runs a new Container.
    const lease = async () => (await api.client.get<KubeObject & { spec?: { renewTime?: string } }>(RESOURCES.leases, nodeName, 'berth-node-lease')).spec?.renewTime;
    const before = await until('a lease', lease);
    await until('the lease is renewed after the rotation', async () => (await lease()) !== before);
    await api.client.create(RESOURCES.containers, {
      metadata: { name: 'after-rotation', namespace: 'default' },
      spec: { nodeName, image: 'busybox', command: ['sleep', '1000'] },
    } as KubeObject);
    await until('after-rotation runs', async () => (await container('after-rotation')).status?.phase === 'Running');
  });

  it('berth secrets reencrypt rotates the key; Secrets still reach the node, never in clear in the store', async () => {
    const keysBefore = JSON.parse(fs.readFileSync(path.join(api.home, 'encryption-keys.json'), 'utf8')) as unknown;
    const { stdout } = await berth(['secrets', 'reencrypt']);
    expect(stdout).toMatch(/^secrets re-encrypted: \d+ under key \S+ \(keys: \S+\)\n$/);
    const activeKey = /under key (\S+)/.exec(stdout)![1];
    expect(JSON.stringify(keysBefore)).not.toContain(activeKey);
    await api.client.patch(RESOURCES.secrets, 'db', { stringData: { password: ROTATED } }, { namespace: 'default' });
    await until('the new value reaches the container', async () => {
      const h = await runtime().exec('default.granted', { args: ['cat', '/run/secrets/db/password'] }, { stdout: 'pipe' });
      let out = '';
      h.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await h.wait();
      return out === ROTATED;
    });
    const store = fs.readFileSync(path.join(api.home, 'berth.db'));
    for (const value of [PLAINTEXT, ROTATED]) {
      expect(store.includes(value)).toBe(false);
      expect(store.includes(Buffer.from(value).toString('base64'))).toBe(false);
    }
  });

  it('never shows the secret value in a 422, an Event, berth describe, the audit log or the agent log', async () => {
    const bad = await api.client.request('POST', api.client.path(RESOURCES.secrets, 'default'), {
      body: { apiVersion: 'berth.dev/v1', kind: 'Secret', metadata: { name: 'bad' }, data: { password: `not base64 ${PLAINTEXT}` } },
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('data[password]: Invalid value: \\"[redacted]\\"');
    const events = await api.client.list(RESOURCES.events, { namespace: '' });
    const described = [(await berth(['describe', 'secret', 'db'])).stdout, (await berth(['describe', 'container', 'granted'])).stdout];
    expect(described[0]).toContain('Name:         db');
    expect(described[0]).toContain(`password: ${ROTATED.length} bytes`);
    // Every part of the agent (Image controller, network provider, service proxy) worked under the node identity.
    expect(agentOutput).not.toMatch(/403|Forbidden|401|Unauthorized/);
    const audit = fs.readFileSync(path.join(api.home, 'audit.log'), 'utf8');
    expect(audit).toContain('"secrets"');
    for (const [where, text] of Object.entries({ '422': JSON.stringify(bad.body), events: JSON.stringify(events.items), describe: described.join('\n'), audit, agent: agentOutput })) {
      for (const value of [PLAINTEXT, ROTATED]) {
        expect([where, text.includes(value) || text.includes(Buffer.from(value).toString('base64'))]).toEqual([where, false]);
      }
    }
  });

  it('cleans up through the node, then berth node revoke refuses its certificate (401)', async () => {
    for (const name of ['granted', 'after-rotation']) await api.client.delete(RESOURCES.containers, name, { namespace: 'default' });
    await until('containers gone', async () => (await api.client.list(RESOURCES.containers, { namespace: '' })).items.length === 0);
    expect(await runtime().list()).toEqual([]);
    const nets = await api.client.list(RESOURCES.networks, { namespace: '' });
    for (const n of nets.items) await api.client.delete(RESOURCES.networks, n.metadata.name!, { namespace: n.metadata.namespace });
    await until('networks gone', async () => (await api.client.list(RESOURCES.networks, { namespace: '' })).items.length === 0);
    const bridges = nets.items.map((n) => bridgeName(n.metadata.uid!));
    await until('bridges gone', async () => resourcesNamed(await listBerthResources(), bridges).length === 0);

    const { stdout } = await berth(['node', 'revoke', nodeName]);
    expect(stdout).toBe(`node/${nodeName} revoked (1 live certificate)\n`);
    // A fresh connection with the revoked certificate (the client's session is closed first).
    nodeClient.close();
    const refused = await nodeClient.request('GET', nodeClient.path(RESOURCES.nodes, undefined, nodeName));
    expect(refused.status).toBe(401);
    // And the name cannot join again with a valid token.
    const token = (await berth(['token', 'create'])).stdout.trim();
    await expect(joinCluster({ server: api.url, token, nodeName })).rejects.toThrow(/was revoked/);

    agent.kill('SIGTERM');
    expect(await agentExited).toBe(0);
  });
});
