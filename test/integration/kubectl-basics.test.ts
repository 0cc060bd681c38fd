/** kubectl 1.32, unmodified, against a freshly started Berth API server. */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { RESOURCES, type KubeObject } from '../../client';
import { STORES, startApiServer, type TestApiServer } from '../helpers/apiserver';

const run = promisify(execFile);
const EXAMPLES = path.resolve(__dirname, '../../manifests/examples');

describe.each(STORES)('kubectl against Berth on %s', (store) => {
  let api: TestApiServer;
  const kubectl = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const { stdout, stderr } = await run('/usr/bin/kubectl', ['--kubeconfig', api.kubeconfigPath, ...args], { timeout: 60_000 });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };
  const ok = async (...args: string[]): Promise<string> => {
    const r = await kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    api = await startApiServer({ store });
  });
  afterAll(async () => {
    await api.stop();
    expect(fs.existsSync(api.home)).toBe(false);
  });

  it('When asked for api-resources, Then every built-in kind is listed', async () => {
    const out = await ok('api-resources');
    for (const kind of ['Container', 'Service', 'Image', 'Network', 'Secret', 'Node', 'Namespace', 'CustomResourceDefinition']) expect(out).toContain(kind);
  });

  it('When the examples are applied twice, Then the second apply reports every object unchanged', async () => {
    const first = await ok('apply', '-f', EXAMPLES);
    expect(first).toContain('service.berth.dev/web-canary created');
    const second = await ok('apply', '-f', EXAMPLES);
    const lines = second.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(8);
    for (const line of lines) expect(line).toMatch(/ unchanged$/);
  });

  it('When getting as yaml, json and jsonpath, Then the stored object comes back', async () => {
    expect(await ok('get', 'service', 'web-rolling', '-o', 'yaml')).toMatch(/type: RollingUpdate/);
    const json = JSON.parse(await ok('get', 'containers', '-o', 'json')) as { items: KubeObject[] };
    expect(json.items.map((i) => i.metadata.name)).toContain('hello');
    expect(await ok('get', 'svc', 'web-canary', '-o', 'jsonpath={.spec.strategy.type}')).toBe('Canary');
    expect(await ok('get', 'services')).toMatch(/^NAME\s+REPLICAS/);
  });

  it('When another client changes an object, Then get -w shows it', async () => {
    const child = spawn('/usr/bin/kubectl', ['--kubeconfig', api.kubeconfigPath, 'get', 'containers', 'hello', '-w', '-o', 'jsonpath={.metadata.labels.stage}{"\\n"}']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await api.client.patch(RESOURCES.containers, 'hello', { metadata: { labels: { stage: 'watched' } } });
      for (let i = 0; i < 50 && !out.includes('watched'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('watched');
    } finally {
      child.kill();
    }
  });

  it('When patching with --type=merge and --type=json, Then both apply', async () => {
    await ok('patch', 'service', 'web-recreate', '--type=merge', '-p', '{"spec":{"replicas":4}}');
    await ok('patch', 'service', 'web-recreate', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/image","value":"busybox:1.37"}]');
    const svc = await api.client.get<KubeObject & { spec: { replicas: number; template: { spec: { image: string } } } }>(RESOURCES.services, 'web-recreate');
    expect(svc.spec.replicas).toBe(4);
    expect(svc.spec.template.spec.image).toBe('busybox:1.37');
    expect(svc.metadata.generation).toBe(3);
  });

  it('When two managers apply server-side to the same field, Then a conflict, and --force-conflicts takes it', async () => {
    const dir = fs.mkdtempSync(path.join(api.home, 'ssa-'));
    const manifest = (replicas: number): string => {
      const file = path.join(dir, `net-${replicas}.yaml`);
      fs.writeFileSync(file, `apiVersion: berth.dev/v1\nkind: Service\nmetadata:\n  name: ssa\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      image: busybox\n`);
      return file;
    };
    await ok('apply', '--server-side', '--field-manager=alice', '-f', manifest(2));
    const conflict = await kubectl('apply', '--server-side', '--field-manager=bob', '-f', manifest(5));
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/conflict/i);
    expect(conflict.stderr).toContain('alice');
    expect(conflict.stderr).toContain('.spec.replicas');
    await ok('apply', '--server-side', '--field-manager=bob', '--force-conflicts', '-f', manifest(5));
    expect(await ok('get', 'service', 'ssa', '-o', 'jsonpath={.spec.replicas}')).toBe('5');
  });

  it('When a manifest differs from the live object, Then diff shows it (exit 1); when not, exit 0', async () => {
    const same = await kubectl('diff', '-f', path.join(EXAMPLES, 'network.yaml'));
    expect(same.code).toBe(0);
    const file = path.join(fs.mkdtempSync(path.join(api.home, 'diff-')), 'net.yaml');
    fs.writeFileSync(file, fs.readFileSync(path.join(EXAMPLES, 'network.yaml'), 'utf8').replace('10.89.0.0/24', '10.90.0.0/24'));
    const changed = await kubectl('diff', '-f', file);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('10.90.0.0/24');
  });

  it('When explaining service.spec.strategy, Then its fields are described', async () => {
    const out = await ok('explain', 'service.spec.strategy');
    expect(out).toContain('KIND:');
    expect(out).toMatch(/type\s*<string>/);
  });

  it('When a condition becomes true, Then kubectl wait returns', async () => {
    const waiting = kubectl('wait', '--for=condition=Ready', 'container/hello', '--timeout=30s');
    await new Promise((r) => setTimeout(r, 1000));
    const current = await api.client.get(RESOURCES.containers, 'hello');
    await api.client.updateStatus(RESOURCES.containers, {
      ...current,
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] },
    });
    const r = await waiting;
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('condition met');
  });

  it('When scaling a service, Then spec.replicas follows through /scale', async () => {
    await ok('scale', 'service/web-rolling', '--replicas=7');
    expect(await ok('get', 'service', 'web-rolling', '-o', 'jsonpath={.spec.replicas}')).toBe('7');
  });

  it('When deleting an owner (background and foreground), Then its dependents go too', async () => {
    for (const cascade of ['background', 'foreground']) {
      const owner = await api.client.get(RESOURCES.services, 'web-bluegreen').catch(() => api.client.get(RESOURCES.services, 'web-canary'));
      const ownerName = String(owner.metadata.name);
      await api.client.create(RESOURCES.containers, {
        metadata: { name: `dep-${cascade}`, ownerReferences: [{ apiVersion: 'berth.dev/v1', kind: 'Service', name: ownerName, uid: String(owner.metadata.uid), blockOwnerDeletion: true }] },
        spec: { image: 'busybox' },
      });
      const out = await ok('delete', 'service', ownerName, `--cascade=${cascade}`);
      expect(out).toContain('deleted');
      for (let i = 0; i < 50; i++) {
        const r = await api.client.request('GET', api.client.path(RESOURCES.containers, 'default', `dep-${cascade}`));
        if (r.status === 404) break;
        if (i === 49) throw new Error(`dependent dep-${cascade} survived a ${cascade} delete`);
        await new Promise((res) => setTimeout(res, 100));
      }
      expect((await kubectl('get', 'service', ownerName)).code).not.toBe(0);
    }
  });

  it('When creating a namespace (kubectl sends protobuf), Then it exists', async () => {
    expect(await ok('create', 'namespace', 'kubectl-made')).toContain('namespace/kubectl-made created');
    expect(await ok('get', 'ns', 'kubectl-made', '-o', 'jsonpath={.status.phase}')).toBe('Active');
  });
});
