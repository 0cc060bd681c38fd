import * as fs from 'node:fs';
import * as os from 'node:os';

const readFirst = (file: string, fallback: string): string => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
};

function osImage(): string {
  const line = readFirst('/etc/os-release', '').split('\n').find((l) => l.startsWith('PRETTY_NAME='));
  return line ? line.slice('PRETTY_NAME='.length).replace(/^"|"$/g, '') : os.type();
}

/** What the node offers and is: `Node.status` as the agent reports it at registration and on each heartbeat. */
export function nodeStatus(agentVersion: string, address = '127.0.0.1'): Record<string, unknown> {
  const capacity = { cpu: String(os.cpus().length), memory: String(os.totalmem()), pids: Number(readFirst('/proc/sys/kernel/pid_max', '32768')) };
  const now = new Date().toISOString();
  return {
    capacity,
    allocatable: capacity,
    addresses: [
      { type: 'InternalIP', address },
      { type: 'Hostname', address: os.hostname() },
    ],
    nodeInfo: {
      kernelVersion: os.release(),
      osImage: osImage(),
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      operatingSystem: 'linux',
      containerRuntimeVersion: `berth://${agentVersion}`,
    },
    conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'berth agent is posting ready status', lastTransitionTime: now }],
  };
}
