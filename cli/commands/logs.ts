/** `berth logs [-f] [--tail N] [--since 10s] [--timestamps] [-p] NAME` — a Container's output, like kubectl logs. */
import type { Command } from 'commander';
import { Container, RESOURCES } from '../../client';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';

interface LogsOptions {
  follow?: boolean;
  tail?: string;
  since?: string;
  timestamps?: boolean;
  previous?: boolean;
}

/** `30s`, `5m`, `2h` → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text);
  if (!m) throw new Error(`invalid duration "${text}": use a number with s, m or h (e.g. 30s, 5m)`);
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

/** `NAME` is a Container; `service/NAME` picks one of the Service's ready containers (kubectl's deploy/NAME). */
async function resolveContainer(client: ReturnType<typeof clientFor>, namespace: string, target: string): Promise<string> {
  const m = /^(?:svc|service|services)\/(.+)$/.exec(target);
  if (!m) return target.replace(/^(?:ctr|container|containers)\//, '');
  const list = await client.list<Container>(RESOURCES.containers, { namespace, labelSelector: `berth.dev/service=${m[1]}` });
  const pick = list.items.find((c) => (c.status as { ready?: boolean } | undefined)?.ready) ?? list.items[0];
  if (!pick) throw new Error(`service "${m[1]}" has no containers`);
  return pick.metadata.name!;
}

export const registerLogsCommand = (program: Command): void => {
  program
    .command('logs')
    .description('print the output of a container (or of one container of service/NAME)')
    .argument('<name>', 'container name, or service/NAME')
    .option('-f, --follow', 'keep streaming new output')
    .option('--tail <lines>', 'only the last N lines')
    .option('--since <duration>', 'only output newer than this (e.g. 30s, 5m, 1h)')
    .option('--timestamps', 'prefix each line with its time')
    .option('-p, --previous', 'the output of the previous run (after a restart)')
    .action(async (target: string, opts: LogsOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      const namespace = namespaceOf(client, globals);
      try {
        const name = await resolveContainer(client, namespace, target);
        const query = {
          follow: opts.follow ? 'true' : undefined,
          tailLines: opts.tail,
          sinceSeconds: opts.since ? parseDuration(opts.since) : undefined,
          timestamps: opts.timestamps ? 'true' : undefined,
          previous: opts.previous ? 'true' : undefined,
        };
        const path = `${client.path(RESOURCES.containers, namespace, name, 'log')}`;
        await client.stream('GET', path, { query }, process.stdout);
      } finally {
        client.close();
      }
    });
};
