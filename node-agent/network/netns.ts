/** Named network namespaces for containers (`ip netns add`): a bind mount under /run/netns the runtime joins by path. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCommand, CommandError } from './command';
import { NETNS_RUN_DIR } from './ip-batch';
import { containerNetnsName } from './names';

/** Creates the namespace `name` (idempotent) and returns its path, for `linux.namespaces[{type:"network", path}]`. */
export async function createNetns(name: string): Promise<string> {
  const nsPath = path.join(NETNS_RUN_DIR, name);
  const result = await runCommand(['ip', 'netns', 'add', name]);
  if (result.code !== 0 && !/File exists/.test(result.stderr)) {
    throw new CommandError(['ip', 'netns', 'add', name], result);
  }
  return nsPath;
}

/** Creates the network namespace of a container: `/run/netns/berth-<id>`. */
export function createContainerNetns(containerId: string): Promise<string> {
  return createNetns(containerNetnsName(containerId));
}

/** Deletes a named namespace (unmounts and removes its file); a missing one is a no-op. */
export async function deleteNetns(name: string): Promise<void> {
  if (!fs.existsSync(path.join(NETNS_RUN_DIR, name))) return;
  const result = await runCommand(['ip', 'netns', 'delete', name]);
  if (result.code !== 0 && fs.existsSync(path.join(NETNS_RUN_DIR, name))) {
    throw new CommandError(['ip', 'netns', 'delete', name], result);
  }
}

export function deleteContainerNetns(containerId: string): Promise<void> {
  return deleteNetns(containerNetnsName(containerId));
}

/** Names of the namespaces under /run/netns. */
export function listNetns(): string[] {
  try {
    return fs.readdirSync(NETNS_RUN_DIR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`list ${NETNS_RUN_DIR}`, { cause: err });
  }
}
