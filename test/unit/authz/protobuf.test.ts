/**
 * decodeAuthzProtobuf against the bytes kubectl 1.32 really sends: a bare HTTPS server records each POST body
 * (`kubectl create rolebinding|clusterrolebinding|clusterrole`, `kubectl auth can-i`) and the test decodes it.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ensureClusterPki, tlsServerOptions, writeKubeconfig } from '../../../api/auth';
import { decodeAuthzProtobuf, ProtobufDecodeError } from '../../../api/authz';

const run = promisify(execFile);

describe('decodeAuthzProtobuf', () => {
  let home: string;
  let server: https.Server;
  let kubeconfig: string;
  const bodies: { path: string; contentType: string; body: Buffer }[] = [];

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pb-'));
    const pki = ensureClusterPki(home);
    server = https.createServer(tlsServerOptions(pki), (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST') {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}');
          return;
        }
        bodies.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        const kind = req.url?.includes('accessreviews') ? 'SelfSubjectAccessReview' : 'RoleBinding';
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ kind, apiVersion: 'v1', metadata: { name: 'x' }, status: { allowed: true } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kubeconfig = path.join(home, 'kubeconfig');
    writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caPem: pki.ca.certPem, user: { token: 't' } });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(home, { recursive: true, force: true });
    expect(fs.existsSync(home)).toBe(false);
  });

  const sent = async (...args: string[]) => {
    const before = bodies.length;
    await run('kubectl', ['--kubeconfig', kubeconfig, ...args]).catch(() => undefined);
    const posted = bodies.slice(before);
    expect(posted).toHaveLength(1);
    expect(posted[0].contentType).toBe('application/vnd.kubernetes.protobuf');
    return decodeAuthzProtobuf(posted[0].body);
  };

  it('decodes kubectl create rolebinding', async () => {
    expect(await sent('create', 'rolebinding', 'rb', '--clusterrole=edit', '--user=alice', '--group=devs', '--serviceaccount=team-a:ci', '-n', 'team-a')).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'rb', namespace: 'team-a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
        { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' },
        { kind: 'ServiceAccount', name: 'ci', namespace: 'team-a' },
      ],
    });
  });

  it('decodes kubectl create clusterrolebinding and clusterrole (non-resource URLs)', async () => {
    expect(await sent('create', 'clusterrolebinding', 'crb', '--clusterrole=view', '--group=ops')).toMatchObject({
      kind: 'ClusterRoleBinding',
      metadata: { name: 'crb' },
      roleRef: { kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'Group', name: 'ops' }],
    });
    expect(await sent('create', 'clusterrole', 'metrics-reader', '--verb=get', '--non-resource-url=/metrics', '--non-resource-url=/debug/*')).toMatchObject({
      kind: 'ClusterRole',
      metadata: { name: 'metrics-reader' },
      rules: [{ verbs: ['get'], nonResourceURLs: ['/metrics', '/debug/*'] }],
    });
  });

  it('decodes the SelfSubjectAccessReview of kubectl auth can-i', async () => {
    expect(await sent('auth', 'can-i', 'get', '/metrics')).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { nonResourceAttributes: { path: '/metrics', verb: 'get' } },
    });
  });

  it('leaves other kinds to the caller and refuses malformed bytes', () => {
    const ns = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, ...Buffer.from('Namespace')])]);
    expect(decodeAuthzProtobuf(ns)).toBeUndefined();
    expect(() => decodeAuthzProtobuf(Buffer.from('{"kind":"Role"}'))).toThrow(ProtobufDecodeError);
    const truncated = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x7f, 0x01])]);
    expect(() => decodeAuthzProtobuf(truncated)).toThrow(ProtobufDecodeError);
  });
});
