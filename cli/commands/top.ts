/** `berth top [-A]`: CPU, memory and pids of running containers, from each node agent's cgroup stats (like kubectl top). */
import type { Command } from 'commander';
import { ApiClient, RESOURCES } from '../../client';
import type { ContainerSample } from '../../node-agent/server';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';
import { formatTable, type Table, type TableRow } from '../printers';

/** CPU needs a rate: two samples this far apart. */
const SAMPLE_MS = 500;

async function samples(client: ApiClient): Promise<Map<string, ContainerSample>> {
  const out = new Map<string, ContainerSample>();
  for (const node of (await client.list(RESOURCES.nodes)).items) {
    const path = `${client.path(RESOURCES.nodes, undefined, node.metadata.name, 'proxy')}/stats`;
    for (const s of await client.call<ContainerSample[]>('GET', path)) out.set(`${s.namespace}/${s.name}`, s);
  }
  return out;
}

const mib = (bytes: number | undefined): string => (bytes === undefined ? '-' : `${Math.round(bytes / 2 ** 20)}Mi`);

const COLUMNS = ['Name', 'CPU', 'Memory', 'Pids', 'Restarts'].map((name) => ({ name, type: 'string' }));

/** One row per running container: CPU in millicores over the sampling interval, memory against its limit. */
export function topTable(before: Map<string, ContainerSample>, after: Map<string, ContainerSample>, elapsedMs: number, namespace?: string): Table {
  const rows: TableRow[] = [];
  for (const [key, s] of after) {
    if (!s.stats || (namespace && s.namespace !== namespace)) continue;
    const prev = before.get(key)?.stats;
    const cores = prev ? (s.stats.cpuUsageNs - prev.cpuUsageNs) / 1e6 / elapsedMs : 0;
    const limit = s.stats.memoryLimit ? `/${mib(s.stats.memoryLimit)}` : '';
    rows.push({
      cells: [s.name, `${Math.round(cores * 1000)}m`, `${mib(s.stats.memoryUsage)}${limit}`, s.stats.pidsCurrent, s.restartCount],
      object: { metadata: { namespace: s.namespace, name: s.name } },
    });
  }
  rows.sort((a, b) => `${a.object?.metadata?.namespace}/${a.cells[0]}`.localeCompare(`${b.object?.metadata?.namespace}/${b.cells[0]}`));
  return { columnDefinitions: COLUMNS, rows };
}

export const registerTopCommand = (program: Command): void => {
  program
    .command('top')
    .description('show CPU (millicores), memory and processes of running containers')
    .option('-A, --all-namespaces', 'every namespace')
    .action(async (opts: { allNamespaces?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      try {
        const before = await samples(client);
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
        const after = await samples(client);
        const namespace = opts.allNamespaces ? undefined : namespaceOf(client, globals);
        const table = topTable(before, after, Date.now() - t0, namespace);
        if (!table.rows?.length) return console.log(namespace ? `No running containers in ${namespace} namespace.` : 'No running containers.');
        console.log(formatTable(table, COLUMNS, { wide: false, withNamespace: !namespace, header: true }));
      } finally {
        client.close();
      }
    });
};
