/** Named network namespaces for containers (`ip netns add`): a bind mount under /run/netns the runtime joins by path. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALREADY_EXISTS, IpBatchError, NETNS_RUN_DIR, runIpBatch, runIpBatchChecked } from './ip-batch';
import { containerNetnsName } from './names';

/**
 * Creates the namespace `name` (idempotent) and returns its path, for `linux.namespaces[{type:"network", path}]`.
 * Through the long-lived `ip` session: no process start (ip creates it and returns to its own namespace).
 */
export async function createNetns(name: string): Promise<string> {
  await runIpBatchChecked([`netns add ${checkedName(name)}`], `create network namespace ${name}`, { tolerated: ALREADY_EXISTS });
  return netnsPathOf(name);
}

/** Where `createNetns(name)` puts the namespace. */
export const netnsPathOf = (name: string): string => path.join(NETNS_RUN_DIR, name);

/** Creates the network namespace of a container: `/run/netns/berth-<id>`. */
export function createContainerNetns(containerId: string): Promise<string> {
  return createNetns(containerNetnsName(containerId));
}

/** Deletes a named namespace (unmounts and removes its file); a missing one is a no-op. */
export async function deleteNetns(name: string): Promise<void> {
  if (!fs.existsSync(path.join(NETNS_RUN_DIR, name))) return;
  const failures = await runIpBatch([`netns delete ${checkedName(name)}`]);
  if (failures.length > 0 && fs.existsSync(path.join(NETNS_RUN_DIR, name))) throw new IpBatchError(failures, `delete network namespace ${name}`);
}

/** A namespace name goes into an ip batch line: a space or newline in it would be another argument or command. */
function checkedName(name: string): string {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`network namespace name ${JSON.stringify(name)} has unsafe characters`);
  return name;
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
