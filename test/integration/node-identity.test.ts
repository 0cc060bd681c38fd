/**
 * The agent side of `berth agent --join` (cli/node-identity.ts) against a real API server whose node certificates
 * last 2 days (`nodeCertificateDays`): the join, the client on the node certificate, renewal picked up by the
 * running client, the checks on saved credentials, and revocation ending the node's open watches.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { start, type RunningServer } from '../../api';
import { certificateFingerprint, CREDENTIAL_RECHECK_MS, JoinTokens, NodeCertificates } from '../../api/auth';
import { ApiClient, loadKubeconfig, RESOURCES } from '../../client';
import { credentialsDir, joinAsNode } from '../../cli/node-identity';

const DAY_MS = 86400_000;

describe('joinAsNode (berth agent --join)', () => {
  let home: string;
  let nodeHome: string;
  let server: RunningServer;
  let token: string;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
    nodeHome = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-node-'));
    server = await start({ home, port: 0, address: '127.0.0.1', store: 'sqlite', nodeCertificateDays: 2 });
    token = JoinTokens.fromHome(home, certificateFingerprint(server.caPem)).create('worker');
  });
  afterAll(async () => {
    await server.close();
    for (const dir of [home, nodeHome]) fs.rmSync(dir, { recursive: true, force: true });
    expect([fs.existsSync(home), fs.existsSync(nodeHome)]).toEqual([false, false]);
  });

  it('refuses to start without credentials or a token', async () => {
    await expect(joinAsNode({ server: server.url, home: nodeHome, nodeName: 'n1' })).rejects.toThrow(/no node credentials .* and no join token/);
  });

  it('joins with a certificate of the configured validity and renews it before expiry, in the running client', async () => {
    let clock = Date.now();
    const identity = await joinAsNode({ server: server.url, home: nodeHome, nodeName: 'n1', token, renewCheckMs: 100, now: () => clock });
    try {
      const first = identity.client.config.certPem!;
      const validTo = Date.parse(new crypto.X509Certificate(first).validTo);
      expect(validTo - Date.now()).toBeGreaterThan(2 * DAY_MS - 60_000);
      expect(validTo - Date.now()).toBeLessThan(2 * DAY_MS + 60_000);
      expect((await identity.client.request('GET', identity.client.path(RESOURCES.nodes, undefined, 'n1'))).status).toBe(404);
      // Past two thirds of its life: the next check renews it.
      clock += 1.5 * DAY_MS;
      const end = Date.now() + 10_000;
      while (identity.client.config.certPem === first && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      clock = Date.now();
      const renewed = identity.client.config.certPem!;
      expect(renewed).not.toBe(first);
      expect(fs.readFileSync(path.join(credentialsDir(nodeHome), 'node.crt'), 'utf8')).toBe(renewed);
      expect(new crypto.X509Certificate(renewed).subject).toContain('CN=system:node:n1');
      // A node identity that may read its own Node: 404 (not 401/403) since it has not registered.
      expect((await identity.client.request('GET', identity.client.path(RESOURCES.nodes, undefined, 'n1'))).status).toBe(404);
      expect((await identity.client.request('GET', identity.client.path(RESOURCES.nodes, undefined, 'n2'))).status).toBe(403);
    } finally {
      identity.stop();
      identity.client.close();
    }
  });

  it('restarts on the saved certificate without a token, and refuses it under another node name', async () => {
    const again = await joinAsNode({ server: server.url, home: nodeHome, nodeName: 'n1' });
    expect((await again.client.request('GET', again.client.path(RESOURCES.nodes, undefined, 'n1'))).status).toBe(404);
    again.stop();
    again.client.close();
    await expect(joinAsNode({ server: server.url, home: nodeHome, nodeName: 'n2', token })).rejects.toThrow(/is not for node "n2"/);
  });

  it('ends the open watches of a revoked node within the re-check interval, not those of others', async () => {
    const node = await joinAsNode({ server: server.url, home: fs.mkdtempSync(path.join(nodeHome, 'w-')), nodeName: 'watcher', token });
    const admin = new ApiClient(loadKubeconfig(server.kubeconfigPath));
    const closed = (client: ApiClient, fieldSelector?: string) => {
      let resolve!: (err?: Error) => void;
      const ended = new Promise<Error | undefined>((r) => (resolve = r));
      const handle = client.watch(RESOURCES.containers, { namespace: '', fieldSelector }, () => undefined, (err) => resolve(err));
      return { ended, handle };
    };
    const nodeWatch = closed(node.client, 'spec.nodeName=watcher');
    const adminWatch = closed(admin);
    await Promise.all([nodeWatch.handle, adminWatch.handle]);
    const ca = { certPem: server.caPem, keyPem: fs.readFileSync(path.join(home, 'pki', 'ca.key'), 'utf8') };
    const revokedAt = Date.now();
    expect(NodeCertificates.fromHome(home, ca).revokeNode('watcher')).toBe(1);
    await nodeWatch.ended;
    expect(Date.now() - revokedAt).toBeLessThan(CREDENTIAL_RECHECK_MS + 2000);
    const adminStillOpen = await Promise.race([adminWatch.ended.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 500))]);
    expect(adminStillOpen).toBe(true);
    expect((await node.client.request('GET', node.client.path(RESOURCES.nodes, undefined, 'watcher'))).status).toBe(401);
    (await adminWatch.handle).stop();
    node.stop();
    node.client.close();
    admin.close();
  });
});
