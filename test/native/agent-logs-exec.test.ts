import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Container, KubeObject, RESOURCES } from '../../client';
import { execInContainer } from '../../cli/commands/exec';
import { AGENT_SOCKET_ANNOTATION } from '../../node-agent/agent/agent';
import { parseLine } from '../../node-agent/logs';
import { createCgroupManager } from '../../node-agent/runtime/cgroups';
import { AgentServer } from '../../node-agent/server';
import { startCluster, TestCluster } from '../helpers/cluster';
import { until } from '../helpers/until';

const CLI = path.resolve(__dirname, '../../dist/cli/main.js');
/** Small enough that a burst of a few hundred lines rotates through every file. */
const LOG_MAX_BYTES = 4096;
const LOG_MAX_FILES = 2;


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
  let socketPath: string;
  const serve = async () => {
    server = new AgentServer({ agent: cluster.agent, socketPath, logDir: (ns, n) => cluster.logs.dirOf(ns, n) });
    await server.listen();
  };
  const getContainer = (name: string) => cluster.api.client.get<Container>(RESOURCES.containers, name, 'default');
  const run = async (name: string, script: string) => {
    await cluster.api.client.create(RESOURCES.containers, {
      metadata: { name, namespace: 'default' },
      spec: { image: 'busybox', command: ['sh', '-c', script], terminationGracePeriodSeconds: 1 },
    } as KubeObject);
    await until(async () => ((await getContainer(name)).status?.phase === 'Running' ? true : undefined));
  };
  beforeAll(async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
    cluster = await startCluster({ logRotation: { maxBytes: LOG_MAX_BYTES, maxFiles: LOG_MAX_FILES } });
    socketPath = path.join(cluster.api.home, 'agent.sock');
    await serve();
    await cluster.api.client.patch(RESOURCES.nodes, cluster.nodeName, { metadata: { annotations: { [AGENT_SOCKET_ANNOTATION]: socketPath } } });
    await run('talker', 'i=0; while true; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.2; done');
  });
  afterAll(async () => {
    await server.close();
    await cluster.stop();
  });

  const logPath = (query: string, name = 'talker') => `${cluster.api.client.path(RESOURCES.containers, 'default', name, 'log')}?${query}`;
  const readLogs = async (query: string, name?: string) => String((await cluster.api.client.request('GET', logPath(query, name))).body);

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

  it('rotates a chatty container\'s log by size and serves the newest lines, consecutive across the files', async () => {
    await run('burster', 'i=0; while [ $i -lt 600 ]; do echo "row $i"; i=$((i+1)); done; sleep 1000');
    const dir = cluster.logs.dirOf('default', 'burster');
    await until(async () => (await readLogs('', 'burster')).includes('row 599\n'));
    expect(fs.readdirSync(dir).sort()).toEqual(['0.log', '0.log.1', '0.log.2']);
    for (const f of fs.readdirSync(dir)) {
      expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(LOG_MAX_BYTES);
      for (const raw of fs.readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n')) expect(parseLine(raw)).toBeDefined();
    }
    const rows = (await readLogs('', 'burster')).trimEnd().split('\n').map((l) => Number(/^row (\d+)$/.exec(l)![1]));
    // 600 rows do not fit in 3 files of 4 KiB: the oldest are gone, the rest are all there, in order.
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.length).toBeLessThan(600);
    expect(rows).toEqual(rows.map((_, i) => 600 - rows.length + i));
  });

  it('serves the previous run\'s log after a restart (--previous), and the current run\'s without it', async () => {
    // The rootfs outlives a restart of the container, so the second run finds the marker of the first.
    await run('twice', 'if [ -e /ran-once ]; then echo "second run"; sleep 1000; else touch /ran-once; echo "first run"; exit 3; fi');
    await until(async () => ((await getContainer('twice')).status as { restartCount?: number } | undefined)?.restartCount === 1 && (await readLogs('', 'twice')).includes('second run'));
    expect(await readLogs('', 'twice')).toBe('second run\n');
    expect(await readLogs('previous=true', 'twice')).toBe('first run\n');
    // Not execFileSync: the API server runs in this process and must answer meanwhile.
    const cli = await promisify(execFile)(process.execPath, [CLI, '--kubeconfig', cluster.api.kubeconfigPath, 'logs', '--previous', 'twice'], { encoding: 'utf8' });
    expect(cli.stdout).toBe('first run\n');
  });

  it('exec -it gives a real terminal of the size sent, follows window resizes, and propagates the exit code', async () => {
    const talker = cluster.agent.containers().find((c) => c.name === 'talker')!;
    const cgroup = createCgroupManager(talker.id, `berth/${talker.id}`);
    const before = cgroup.pids().length;
    // script(1) gives `berth exec -it` a terminal of its own (33x111), whose name we learn to resize it later.
    const inner = `echo "OUTER $(tty)"; stty rows 33 cols 111; exec ${process.execPath} ${CLI} --kubeconfig ${cluster.api.kubeconfigPath} exec -it talker -- sh`;
    const term = spawn('script', ['-qfec', inner, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => term.once('exit', resolve));
    let screen = '';
    term.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    try {
      const outer = (await until(async () => /OUTER (\/dev\/pts\/\d+)/.exec(screen), 20_000, 'outer terminal'))[1];
      // busybox ash's prompt, then its cursor-position query (which it does not need answered).
      await until(async () => /\/ # (\x1b\[6n)?$/.test(screen), 20_000, 'shell prompt');
      term.stdin.write('tty; stty size\n');
      const seen = await until(async () => /(\/dev\/pts\/\d+)\r+\n(\d+ \d+)\r+\n/.exec(screen), 20_000, 'tty and size');
      expect(seen[2]).toBe('33 111');
      // Resizing our terminal sends SIGWINCH to `berth exec`, which sends the size on; the container's pty follows.
      execFileSync('stty', ['-F', outer, 'rows', '40', 'cols', '120']);
      await until(async () => {
        term.stdin.write('stty size\n');
        await new Promise((r) => setTimeout(r, 200));
        return /40 120\r+\n/.test(screen);
      }, 20_000, 'resized pty');
      term.stdin.write('exit 5\n');
      expect(await exited).toBe(5);
    } finally {
      if (term.exitCode === null) term.kill('SIGKILL');
    }
    // The exec'd shell and its supervisor are gone.
    await until(async () => cgroup.pids().length === before, 5000, 'exec processes gone');
  });

  it('keeps the log written while no agent runs: the shim writes it, and a new agent serves it', async () => {
    const numbers = (text: string) => text.trimEnd().split('\n').map((l) => Number(/^line (\d+)$/.exec(l)![1]));
    const last = () => readLogs('tailLines=2').then((t) => numbers(t.replace(/^err.*\n/gm, ''))[0]);
    const beforeStop = await until(last);
    cluster.agent.stop();
    await server.close();
    const stopped = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const file = path.join(cluster.logs.dirOf('default', 'talker'), '0.log');
    // Nobody but the shim writes the file now.
    const written = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => parseLine(l)!);
    expect(written.filter((l) => Date.parse(l.time.replace(/(\.\d{3})\d*Z$/, '$1Z')) > stopped + 200).length).toBeGreaterThan(4);
    await cluster.restartAgent();
    await serve();
    const lines = (await readLogs('')).split('\n').filter((l) => l.startsWith('line '));
    const all = numbers(lines.join('\n'));
    expect(all).toEqual(all.map((_, i) => all[0] + i));
    expect(all[all.length - 1]).toBeGreaterThan(beforeStop + 5);
    expect(((await getContainer('talker')).status as { restartCount?: number }).restartCount).toBe(0);
  });
});
