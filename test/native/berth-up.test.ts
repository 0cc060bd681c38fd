import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ApiClient, Container, loadKubeconfig, RESOURCES } from '../../client';
import { until } from '../helpers/until';

const CLI = path.resolve(__dirname, '../../dist/cli/main.js');
const run = promisify(execFile);

describe('berth up on a fresh state dir, then berth down --purge', () => {
  let home: string;
  let up: ChildProcess;
  let output = '';
  const berth = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, BERTH_HOME: home } });
  const name = `up-${process.pid}`;

  beforeAll(async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-up-'));
    up = spawn(process.execPath, [CLI, 'up', '--port', '0'], { env: { ...process.env, BERTH_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.on('data', (d) => (output += d));
    up.stderr!.on('data', (d) => (output += d));
    await until(() => output.includes('controllers and node agent running'), 60_000, 'berth up to start');
  });

  afterAll(async () => {
    // Normally the last test has purged everything; after a failure, purge what is left.
    if (fs.existsSync(home)) await berth('down', '--purge').catch(() => undefined);
    if (up.exitCode === null) up.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('prints the kubeconfig, refuses a second berth up on the same home, and runs an applied Container', async () => {
    const kubeconfig = path.join(home, 'admin.kubeconfig');
    expect(output).toContain(`admin kubeconfig: ${kubeconfig}`);
    await expect(berth('up', '--port', '0')).rejects.toMatchObject({ stderr: expect.stringContaining(`berth is already running on ${home} (pid ${up.pid})`) });
    const manifest = path.join(home, 'c.yaml');
    fs.writeFileSync(manifest, `apiVersion: berth.dev/v1\nkind: Container\nmetadata: {name: ${name}, namespace: default}\nspec: {image: busybox, command: [sh, -c, 'echo hello from berth; sleep 1000']}\n`);
    expect((await berth('apply', '-f', manifest)).stdout).toContain(`container.berth.dev/${name}`);
    const client = new ApiClient(loadKubeconfig(kubeconfig));
    try {
      const st = await until(async () => {
        const s = (await client.get<Container>(RESOURCES.containers, name, 'default')).status as { phase?: string; pid?: number };
        return s.phase === 'Running' && s.pid ? s : undefined;
      }, 30_000);
      expect(fs.readlinkSync(`/proc/${st.pid}/ns/pid`)).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
      expect((await berth('get', 'containers')).stdout).toMatch(new RegExp(`${name}\\s+busybox\\s+\\S+\\s+Running`));
      const out = await berth('exec', name, '--', 'hostname');
      expect(out.stdout).toBe(`${name}\n`);
    } finally {
      client.close();
    }
  });

  it('berth down --purge removes every container, stops berth up and leaves nothing on the host', async () => {
    const out = await berth('down', '--purge');
    expect(out.stdout).toContain(`berth: stopped (pid ${up.pid})`);
    expect(out.stdout).toContain(`berth: purged ${home}`);
    expect(fs.existsSync(home)).toBe(false);
    expect(fs.readFileSync('/proc/mounts', 'utf8')).not.toContain(home);
    expect(fs.existsSync(`/sys/fs/cgroup/pids/berth/default.${name}`)).toBe(false);
    expect(fs.existsSync(`/run/netns/berth-default.${name}`)).toBe(false);
  });
});
