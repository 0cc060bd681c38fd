import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Container, KubeObject, RESOURCES } from '../../client';
import { execInContainer } from '../../cli/commands/exec';
import { AGENT_SOCKET_ANNOTATION } from '../../node-agent/agent/agent';
import { AgentServer } from '../../node-agent/server';
import { startCluster, TestCluster } from '../helpers/cluster';
import { until } from '../helpers/until';


class Collect extends Writable {
  text = '';
  _write(chunk: Buffer, _e: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('logs and exec through the API server to the agent', () => {
  let cluster: TestCluster;
  let server: AgentServer;
  beforeAll(async () => {
    cluster = await startCluster();
    const socketPath = path.join(cluster.api.home, 'agent.sock');
    server = new AgentServer({ agent: cluster.agent, socketPath, logDir: (ns, n) => cluster.logs.dirOf(ns, n) });
    await server.listen();
    await cluster.api.client.patch(RESOURCES.nodes, cluster.nodeName, { metadata: { annotations: { [AGENT_SOCKET_ANNOTATION]: socketPath } } });
    await cluster.api.client.create(RESOURCES.containers, {
      metadata: { name: 'talker', namespace: 'default' },
      spec: { image: 'busybox', command: ['sh', '-c', 'i=0; while true; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.2; done'] },
    } as KubeObject);
    await until(async () => ((await cluster.api.client.get<Container>(RESOURCES.containers, 'talker', 'default')).status?.phase === 'Running' ? true : undefined));
  });
  afterAll(async () => {
    await server.close();
    await cluster.stop();
  });

  const logPath = (query: string) => `${cluster.api.client.path(RESOURCES.containers, 'default', 'talker', 'log')}?${query}`;

  it('reads logs with tail and timestamps, and follows new lines', async () => {
    await until(async () => String((await cluster.api.client.request('GET', logPath(''))).body).includes('line 3'));
    const tail = String((await cluster.api.client.request('GET', logPath('tailLines=2'))).body).trim().split('\n');
    expect(tail).toHaveLength(2);
    const stamped = String((await cluster.api.client.request('GET', logPath('tailLines=1&timestamps=true'))).body);
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (line|err) \d+\n$/);
    const out = new Collect();
    const following = cluster.api.client.stream('GET', logPath('follow=true&tailLines=0'), {}, out);
    await until(async () => /line \d+/.test(out.text));
    expect(out.text).not.toContain('line 0\n');
    void following.catch(() => undefined);
  });

  it('exec runs a command in the container, passes stdin, and propagates the exit code', async () => {
    const out = new Collect();
    const err = new Collect();
    const r1 = await execInContainer(cluster.api.client, 'default', 'talker', ['sh', '-c', 'hostname; cat /proc/1/cmdline | tr "\\0" " "; exit 7'], { stdout: out, stderr: err });
    expect(r1.exitCode).toBe(7);
    expect(out.text.split('\n')[0]).toBe('talker');
    const stdin = new PassThrough();
    const echoed = new Collect();
    const pending = execInContainer(cluster.api.client, 'default', 'talker', ['sh', '-c', 'read x; echo "got $x"'], { stdin, stdout: echoed, stderr: err });
    stdin.end('hello\n');
    expect((await pending).exitCode).toBe(0);
    expect(echoed.text).toBe('got hello\n');
  });

  it('answers 404 for a container that does not exist and a clear error for an unknown command', async () => {
    const res = await cluster.api.client.request('GET', `${cluster.api.client.path(RESOURCES.containers, 'default', 'ghost', 'log')}`);
    expect(res.status).toBe(404);
    const r = await execInContainer(cluster.api.client, 'default', 'talker', ['/no/such/cmd'], { stdout: new Collect(), stderr: new Collect() });
    expect(r.exitCode).toBe(127);
  });
});
