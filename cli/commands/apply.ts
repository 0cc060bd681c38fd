/** `berth apply -f FILE|DIR|-`: server-side apply of every document (multi-document YAML). */
import type { Command } from 'commander';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';
import { readManifests } from '../manifests';
import { ResourceResolver } from '../resources';

interface ApplyOptions {
  filename: string[];
  force?: boolean;
  fieldManager: string;
  dryRun?: boolean;
}

export const registerApplyCommand = (program: Command): void => {
  program
    .command('apply')
    .description('create or update objects from manifests (server-side apply)')
    .requiredOption('-f, --filename <path...>', 'file, directory or - for stdin')
    .option('--force', 'take ownership of fields other managers own')
    .option('--field-manager <name>', 'the manager name recorded in managedFields', 'berth')
    .option('--dry-run', 'ask the server to validate without storing')
    .action(async (opts: ApplyOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      const resolver = new ResourceResolver(client);
      try {
        for (const obj of readManifests(opts.filename)) {
          if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error('every document needs apiVersion, kind and metadata.name');
          const ref = await resolver.byKind(obj.apiVersion, obj.kind);
          const namespace = ref.namespaced ? obj.metadata.namespace ?? namespaceOf(client, globals) : undefined;
          const body = { ...obj, metadata: { ...obj.metadata, ...(namespace ? { namespace } : {}) } };
          await client.apply(ref, body, { fieldManager: opts.fieldManager, force: opts.force, dryRun: opts.dryRun });
          const qualified = ref.group ? `${ref.singular}.${ref.group}` : ref.singular;
          console.log(`${qualified}/${obj.metadata.name} serverside-applied${opts.dryRun ? ' (server dry run)' : ''}`);
        }
      } finally {
        client.close();
      }
    });
};
