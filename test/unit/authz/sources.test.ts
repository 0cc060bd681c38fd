import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { memoizedLister, nodeGraphFromStorage, rbacListerFromStorage } from '../../../api/authz';
import { SqliteStorage } from '../../../api/storage';

describe('authorizer sources over real storage', () => {
  let dir: string;
  let storage: SqliteStorage;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-authz-src-'));
    storage = new SqliteStorage(path.join(dir, 'db'));
  });
  afterEach(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('reuses a list while nothing was written, and sees any write at once', async () => {
    const list = memoizedLister(storage);
    await storage.create('/registry/x/things/a', { metadata: { name: 'a' } });
    const first = await list('/registry/x/things/');
    expect(await list('/registry/x/things/')).toBe(first); // the same array: no backend read
    await storage.create('/registry/y/other/b', { metadata: { name: 'b' } }); // a write elsewhere also invalidates
    await storage.create('/registry/x/things/c', { metadata: { name: 'c' } });
    expect((await list('/registry/x/things/')).map((o) => o.metadata.name)).toEqual(['a', 'c']);
  });

  it('lists RBAC kinds per namespace and containers per node', async () => {
    const rb = (ns: string, name: string) => ({ metadata: { name, namespace: ns }, roleRef: { kind: 'ClusterRole', name: 'view' } });
    await storage.create('/registry/rbac.authorization.k8s.io/rolebindings/a/x', rb('a', 'x'));
    await storage.create('/registry/rbac.authorization.k8s.io/rolebindings/b/y', rb('b', 'y'));
    await storage.create('/registry/rbac.authorization.k8s.io/clusterroles/r', { metadata: { name: 'r' }, rules: [] });
    const lister = rbacListerFromStorage(storage);
    expect(((await lister('RoleBinding', 'a')) as { metadata: { name: string } }[]).map((o) => o.metadata.name)).toEqual(['x']);
    expect(await lister('ClusterRole')).toHaveLength(1);
    expect(await lister('Role', 'a')).toEqual([]);

    const c = (ns: string, name: string, node?: string) => ({ metadata: { name, namespace: ns }, spec: { nodeName: node } });
    await storage.create('/registry/berth.dev/containers/a/web', c('a', 'web', 'n1'));
    await storage.create('/registry/berth.dev/containers/b/db', c('b', 'db', 'n2'));
    const graph = nodeGraphFromStorage(storage);
    expect((await graph.listContainersOnNode('n1')).map((o) => o.metadata.name)).toEqual(['web']);
    expect((await graph.getContainer('b', 'db'))?.spec?.nodeName).toBe('n2');
    expect(await graph.getContainer('b', 'missing')).toBeUndefined();
  });
});
