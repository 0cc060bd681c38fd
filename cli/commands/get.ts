/** `berth get KIND [NAME] [-o yaml|json|wide] [-w] [-l SEL] [-A] [-n NS]` */
import type { Command } from 'commander';
import type { ApiClient } from '../../client';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';
import { TABLE_ACCEPT, formatObject, formatTable, type Table, type TableColumn } from '../printers';
import { ResourceResolver, type DiscoveredResource } from '../resources';

interface GetOptions {
  output?: string;
  watch?: boolean;
  selector?: string;
  allNamespaces?: boolean;
}

const OUTPUTS = new Set(['yaml', 'json', 'wide']);

/** Follows changes after `resourceVersion`, one line (or document) per event, until the stream ends. */
const watchRows = async (client: ApiClient, ref: DiscoveredResource, namespace: string | undefined, name: string | undefined, opts: GetOptions, resourceVersion: string, columns: TableColumn[]): Promise<void> => {
  const machine = opts.output === 'yaml' || opts.output === 'json';
  const tableOptions = { wide: opts.output === 'wide', withNamespace: !!opts.allNamespaces && ref.namespaced, header: false };
  await new Promise<void>((resolve, reject) => {
    client
      .watch(ref, { namespace: namespace ?? '', resourceVersion, labelSelector: opts.selector, name }, (type, obj) => {
        if (type === 'BOOKMARK') return;
        if (machine) {
          console.log(formatObject(obj, opts.output as 'yaml' | 'json') + (opts.output === 'yaml' ? '\n---' : ''));
          return;
        }
        // Render the row with the server's printer columns; a deleted object can no longer be read, so print its name.
        client
          .call<Table>('GET', client.path(ref, obj.metadata.namespace, obj.metadata.name), { accept: TABLE_ACCEPT })
          .then((t) => console.log(formatTable(t, columns, tableOptions)))
          .catch(() => console.log(obj.metadata.name));
      }, (err) => (err ? reject(err) : resolve()))
      .catch(reject);
  });
};

export const registerGetCommand = (program: Command): void => {
  program
    .command('get')
    .description('list objects, or show one')
    .argument('<kind>', 'resource type (plural, singular, short name or Kind)')
    .argument('[name]', 'one object')
    .option('-o, --output <format>', 'yaml, json or wide')
    .option('-w, --watch', 'after listing, watch for changes')
    .option('-l, --selector <selector>', 'label selector')
    .option('-A, --all-namespaces', 'every namespace')
    .action(async (kind: string, name: string | undefined, opts: GetOptions, cmd: Command) => {
      if (opts.output && !OUTPUTS.has(opts.output)) throw new Error(`unknown output format "${opts.output}" (yaml, json, wide)`);
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      try {
        const ref = await new ResourceResolver(client).byName(kind);
        const namespace = ref.namespaced && !opts.allNamespaces ? namespaceOf(client, globals) : undefined;
        const path = client.path(ref, namespace, name);
        const query = { labelSelector: opts.selector };
        let resourceVersion = '';
        let columns: TableColumn[] = [];
        if (opts.output === 'yaml' || opts.output === 'json') {
          const body = await client.call<{ metadata?: { resourceVersion?: string } }>('GET', path, { query });
          resourceVersion = body.metadata?.resourceVersion ?? '';
          console.log(formatObject(body, opts.output));
        } else {
          const table = await client.call<Table & { metadata?: { resourceVersion?: string } }>('GET', path, { query, accept: TABLE_ACCEPT });
          resourceVersion = table.metadata?.resourceVersion ?? '';
          columns = table.columnDefinitions ?? [];
          if ((table.rows ?? []).length === 0 && !opts.watch) {
            console.error(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found');
            return;
          }
          console.log(formatTable(table, columns, { wide: opts.output === 'wide', withNamespace: !!opts.allNamespaces && ref.namespaced, header: true }));
        }
        if (opts.watch) await watchRows(client, ref, namespace, name, opts, resourceVersion, columns);
      } finally {
        client.close();
      }
    });
};
