/** `berth delete KIND NAME... | -f FILE` with `--cascade=background|foreground|orphan`. */
import type { Command } from 'commander';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';
import { readManifests } from '../manifests';
import { ResourceResolver, type DiscoveredResource } from '../resources';

interface DeleteCommandOptions {
  filename?: string[];
  cascade: string;
}

const POLICIES: Record<string, 'Background' | 'Foreground' | 'Orphan'> = { background: 'Background', foreground: 'Foreground', orphan: 'Orphan' };

export const registerDeleteCommand = (program: Command): void => {
  program
    .command('delete')
    .description('delete objects by kind and name, or those in manifests')
    .argument('[kind]', 'resource type')
    .argument('[names...]', 'object names')
    .option('-f, --filename <path...>', 'file, directory or - for stdin')
    .option('--cascade <policy>', 'background, foreground or orphan', 'background')
    .action(async (kind: string | undefined, names: string[], opts: DeleteCommandOptions, cmd: Command) => {
      const policy = POLICIES[opts.cascade];
      if (!policy) throw new Error(`--cascade must be background, foreground or orphan, not "${opts.cascade}"`);
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      const resolver = new ResourceResolver(client);
      const targets: Array<{ ref: DiscoveredResource; name: string; namespace?: string }> = [];
      try {
        if (opts.filename) {
          for (const obj of readManifests(opts.filename)) {
            const ref = await resolver.byKind(String(obj.apiVersion), String(obj.kind));
            targets.push({ ref, name: String(obj.metadata.name), namespace: obj.metadata.namespace });
          }
        } else {
          if (!kind || names.length === 0) throw new Error('usage: berth delete KIND NAME... (or -f FILE)');
          const ref = await resolver.byName(kind);
          for (const name of names) targets.push({ ref, name });
        }
        for (const t of targets) {
          const namespace = t.ref.namespaced ? t.namespace ?? namespaceOf(client, globals) : undefined;
          await client.delete(t.ref, t.name, { namespace, propagationPolicy: policy });
          const qualified = t.ref.group ? `${t.ref.singular}.${t.ref.group}` : t.ref.singular;
          console.log(`${qualified} "${t.name}" deleted`);
        }
      } finally {
        client.close();
      }
    });
};
