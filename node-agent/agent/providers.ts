import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LogOptions } from '../runtime/types';
import type { ContainerObject, LogProvider, NetworkProvider, NetworkSetup } from './types';

/**
 * Containers that name no Network get a private network namespace with loopback only (Docker's `--network none`).
 * Attaching to Networks is the network driver's job (node-agent/network) once the Network controller assigns addresses.
 */
export class IsolatedNetworkProvider implements NetworkProvider {
  async attach(c: ContainerObject): Promise<NetworkSetup> {
    if (c.spec.networks?.length) throw new Error(`spec.networks: attaching to Networks (${c.spec.networks.join(', ')}) needs the bridge driver, which this agent was not started with`);
    return { networks: [] };
  }

  async detach(): Promise<void> {}
}

/** Each run of a container writes to `<root>/<namespace>_<name>/<restartCount>.log` (kubelet's layout), rotated by size. */
export class FileLogProvider implements LogProvider {
  constructor(
    readonly root: string,
    private readonly rotation: { readonly maxBytes?: number; readonly maxFiles?: number } = {},
  ) {}

  dirOf(namespace: string, name: string): string {
    return path.join(this.root, `${namespace}_${name}`);
  }

  async log(c: ContainerObject, _containerId: string, restartCount: number): Promise<LogOptions> {
    const dir = this.dirOf(c.metadata.namespace, c.metadata.name);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o750 });
    return { path: path.join(dir, `${restartCount}.log`), ...this.rotation };
  }
}
