/**
 * A real, private etcd for tests: /usr/bin/etcd on loopback ports picked by the kernel, with a temp data dir.
 * `stop()` kills exactly the process it started (by pid) and removes the data dir.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';

export interface EtcdInstance {
  /** `http://127.0.0.1:PORT`, for `new EtcdStorage({ endpoints: [endpoint] })`. */
  readonly endpoint: string;
  readonly dataDir: string;
  /** The current process (changes on restart). */
  readonly pid: number;
  /** Kills etcd (SIGKILL, by pid) and starts it again on the same ports and data, as after a crash. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const ETCD_BINARY = '/usr/bin/etcd';

function isHealthy(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts etcd and resolves once `/health` says so (at most `timeoutMs`). */
export async function startEtcd(timeoutMs = 20_000): Promise<EtcdInstance> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const name = `berth-test-${process.pid}-${clientPort}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${name}=${peer}`,
    `--initial-cluster-token=${name}`,
    '--log-level=error',
    '--logger=zap',
  ];
  let child: ChildProcess;
  let stderr = '';
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL'); // by pid: the ChildProcess we spawned
      await exited(child);
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const launch = async (): Promise<void> => {
    child = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const deadline = Date.now() + timeoutMs;
    while (!(await isHealthy(endpoint))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`etcd on ${endpoint} did not become healthy (exit ${child.exitCode}): ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await launch();
  return {
    endpoint,
    dataDir,
    get pid() {
      return child.pid!;
    },
    restart: async () => {
      await kill();
      await launch();
    },
    stop,
  };
}
