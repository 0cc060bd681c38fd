import * as fs from 'node:fs';
import { Container, KubeObject, RESOURCES } from '../../client';
import { startCluster, TestCluster } from '../helpers/cluster';
import { until } from '../helpers/until';


const newContainer = (name: string, spec: Record<string, unknown>): KubeObject => ({ metadata: { name, namespace: 'default' }, spec: { image: 'busybox', ...spec } });

describe('node agent end to end (real API server, scheduler, agent, Berth runtime)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => {
    await cluster.stop();
  });

  const get = (name: string) => cluster.api.client.get<Container>(RESOURCES.containers, name, 'default');
  const status = async (name: string) => (await get(name)).status as Record<string, unknown> & { phase?: string; pid?: number; restartCount?: number };

  it('runs an applied Container: bound to the node, Running with a pid in its own namespaces', async () => {
    await cluster.api.client.create(RESOURCES.containers, newContainer('sleeper', { command: ['sleep', '1000'] }));
    const st = await until(async () => {
      const s = await status('sleeper');
      return s?.phase === 'Running' && s.pid ? s : undefined;
    });
    expect((await get('sleeper')).spec.nodeName).toBe(cluster.nodeName);
    const pid = st.pid as number;
    expect(fs.readlinkSync(`/proc/${pid}/ns/pid`)).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
    expect(fs.readlinkSync(`/proc/${pid}/ns/mnt`)).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
    expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(/berth\/default\.sleeper/);
    const procs = fs.readFileSync('/sys/fs/cgroup/pids/berth/default.sleeper/cgroup.procs', 'utf8').trim().split('\n');
    const commands = procs.map((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]);
    expect(commands).toContain('sleep');
    expect(st.ready).toBe(true);
  });

  it('backs off a crashing container and counts its restarts', async () => {
    await cluster.api.client.create(RESOURCES.containers, newContainer('crasher', { command: ['sh', '-c', 'echo boom; exit 3'] }));
    const st = await until(async () => {
      const s = await status('crasher');
      // A restarted run reports Running with its exit code cleared; its crash reports the code again.
      return (s?.restartCount ?? 0) >= 2 && s?.exitCode !== undefined ? s : undefined;
    });
    expect(st.exitCode).toBe(3);
    // Started repeats the Running status: it is written once starts quieten down (EventRecorder.recordLater).
    const started = await until(async () => (await cluster.api.client.list(RESOURCES.events, { namespace: 'default' })).items.find((e) => (e.involvedObject as { name: string }).name === 'crasher' && e.reason === 'Started'));
    expect(started.type).toBe('Normal');
  });

  it('restarts a container whose liveness probe fails', async () => {
    await cluster.api.client.create(
      RESOURCES.containers,
      newContainer('unhealthy', {
        command: ['sh', '-c', 'touch /tmp/ok; sleep 1; rm /tmp/ok; sleep 1000'],
        livenessProbe: { exec: { command: ['cat', '/tmp/ok'] }, periodSeconds: 1, failureThreshold: 1 },
        terminationGracePeriodSeconds: 1,
      }),
    );
    const st = await until(async () => {
      const s = await status('unhealthy');
      return (s?.restartCount ?? 0) >= 1 ? s : undefined;
    });
    expect(st.restartCount).toBeGreaterThanOrEqual(1);
  });

  it('a Container with a command that does not exist fails with a clear reason and leaves nothing behind', async () => {
    await cluster.api.client.create(RESOURCES.containers, newContainer('nocmd', { command: ['/no/such/binary'], restartPolicy: 'Never' }));
    const st = await until(async () => {
      const s = await status('nocmd');
      return s?.phase === 'Failed' ? s : undefined;
    });
    expect(st.reason).toBe('StartError');
    expect(st.message).toBe('cannot run ["/no/such/binary"]: exit code 127 (command not found)');
  });

  it('delete stops the container and removes its cgroup, mounts and process before the object goes', async () => {
    const st = await status('sleeper');
    const pid = st.pid as number;
    await cluster.api.client.delete(RESOURCES.containers, 'sleeper', { namespace: 'default' });
    await until(async () => {
      try {
        await get('sleeper');
        return false;
      } catch {
        return true;
      }
    });
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(fs.existsSync('/sys/fs/cgroup/memory/berth/default.sleeper')).toBe(false);
    expect(fs.readFileSync('/proc/mounts', 'utf8')).not.toMatch(/default\.sleeper/);
  });
});
