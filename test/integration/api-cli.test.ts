/** The `berth` CLI (bin/berth → dist/cli/main.js) against a running server: apply, get, describe, delete. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startApiServer, type TestApiServer } from '../helpers/apiserver';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

describe('berth CLI', () => {
  let api: TestApiServer;
  const berth = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, [path.join(ROOT, 'bin/berth'), '--kubeconfig', api.kubeconfigPath, ...args], { timeout: 60_000 })).stdout;

  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api.stop();
  });

  it('When applying the examples, Then every object is server-side applied, and applying again changes nothing', async () => {
    const out = await berth('apply', '-f', path.join(ROOT, 'manifests/examples'));
    expect(out).toContain('service.berth.dev/web-canary serverside-applied');
    const before = await api.client.get({ group: 'berth.dev', version: 'v1', plural: 'services', kind: 'Service', namespaced: true }, 'web-canary');
    await berth('apply', '-f', path.join(ROOT, 'manifests/examples/service-canary.yaml'));
    const after = await api.client.get({ group: 'berth.dev', version: 'v1', plural: 'services', kind: 'Service', namespaced: true }, 'web-canary');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('When getting, Then tables use the printer columns; -o yaml and -A work', async () => {
    const table = await berth('get', 'services');
    expect(table.split('\n')[0]).toMatch(/^NAME\s+REPLICAS\s+READY\s+STRATEGY/);
    expect(table).toMatch(/web-canary\s+3\s+Canary/);
    expect(await berth('get', 'svc', 'web-rolling', '-o', 'yaml')).toContain('type: RollingUpdate');
    expect((await berth('get', 'containers', '-A')).split('\n')[0]).toMatch(/^NAMESPACE\s+NAME/);
  });

  it('When describing, Then identity, spec and events are shown', async () => {
    const out = await berth('describe', 'service', 'web-canary');
    expect(out).toContain('Name:         web-canary');
    expect(out).toContain('type: Canary');
    expect(out).toContain('Events:');
  });

  it('When deleting, Then the object is gone', async () => {
    expect(await berth('delete', 'container', 'hello')).toContain('container.berth.dev "hello" deleted');
    expect((await api.client.request('GET', '/apis/berth.dev/v1/namespaces/default/containers/hello')).status).toBe(404);
  });
});
