import * as fs from 'node:fs';
import { Container, KubeObject, RESOURCES } from '../../client';
import { startCluster, TestCluster } from '../helpers/cluster';
import { until } from '../helpers/until';


const PLAINTEXT = 'hunter2-berth-secret-value';

describe('secrets delivered by the node agent', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.api.client.create(RESOURCES.secrets, { metadata: { name: 'db', namespace: 'default' }, stringData: { password: PLAINTEXT, user: 'app' } } as KubeObject);
  });
  afterAll(() => cluster.stop());

  const exec = async (name: string, argv: string[]): Promise<string> => {
    const c = await cluster.api.client.get<Container>(RESOURCES.containers, name, 'default');
    const h = await cluster.runtime.exec(`default.${c.metadata.name}`, { args: argv }, { stdout: 'pipe', stderr: 'pipe' });
    let out = '';
    h.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    h.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await h.wait();
    return out;
  };
  const running = (name: string) =>
    until(async () => ((await cluster.api.client.get<Container>(RESOURCES.containers, name, 'default')).status?.phase === 'Running' ? true : undefined));

  it('mounts a referenced secret as 0400 files on a tmpfs, sets secret env, and keeps it off the node disk and out of other containers', async () => {
    await cluster.api.client.create(RESOURCES.containers, {
      metadata: { name: 'granted', namespace: 'default' },
      spec: { image: 'busybox', command: ['sleep', '1000'], user: '65534', secrets: [{ name: 'db' }], env: [{ name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } }] },
    } as KubeObject);
    await cluster.api.client.create(RESOURCES.containers, { metadata: { name: 'other', namespace: 'default' }, spec: { image: 'busybox', command: ['sleep', '1000'] } } as KubeObject);
    await running('granted');
    await running('other');
    expect(await exec('granted', ['cat', '/run/secrets/db/password'])).toBe(PLAINTEXT);
    expect(await exec('granted', ['stat', '-c', '%a %u', '/run/secrets/db/password'])).toBe('400 65534\n');
    expect(await exec('granted', ['sh', '-c', 'echo $DB_USER'])).toBe('app\n');
    expect(await exec('granted', ['sh', '-c', 'grep " /run/secrets/db " /proc/mounts'])).toMatch(/^berth-secrets \/run\/secrets\/db tmpfs ro,nosuid,nodev,noexec/);
    expect(await exec('other', ['sh', '-c', 'ls /run/secrets 2>&1; grep -r hunter2 /etc /run /tmp /root /home 2>/dev/null'])).toBe('ls: /run/secrets: No such file or directory\n');
    // On the node the value lives only on the container's tmpfs mount.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8');
    expect(mounts).toMatch(/berth-secrets .*\/secrets\/default\.granted tmpfs/);
  });

  it('propagates an updated secret to the running container', async () => {
    await cluster.api.client.patch(RESOURCES.secrets, 'db', { stringData: { password: 'rotated-value' } }, { namespace: 'default' });
    await until(async () => (await exec('granted', ['cat', '/run/secrets/db/password'])) === 'rotated-value');
  });

  it('waits with a clear reason for a secret that does not exist, and starts once it does', async () => {
    await cluster.api.client.create(RESOURCES.containers, { metadata: { name: 'waiting', namespace: 'default' }, spec: { image: 'busybox', command: ['sleep', '1000'], secrets: [{ name: 'later' }] } } as KubeObject);
    const st = await until(async () => {
      const s = (await cluster.api.client.get<Container>(RESOURCES.containers, 'waiting', 'default')).status as { reason?: string; message?: string } | undefined;
      return s?.reason === 'CreateContainerConfigError' ? s : undefined;
    });
    expect(st.message).toBe('secret default/later not found');
    await cluster.api.client.create(RESOURCES.secrets, { metadata: { name: 'later', namespace: 'default' }, stringData: { k: 'v' } } as KubeObject);
    await running('waiting');
  });

  it('removes the tmpfs when the container is deleted', async () => {
    await cluster.api.client.delete(RESOURCES.containers, 'granted', { namespace: 'default' });
    await until(async () => !fs.readFileSync('/proc/mounts', 'utf8').includes('default.granted'));
  });
});
