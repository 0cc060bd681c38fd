/** The `berth` command. */
import { Command } from 'commander';
import { ApiStatusError } from '../client';
import { registerApplyCommand } from './commands/apply';
import { registerDeleteCommand } from './commands/delete';
import { registerDescribeCommand } from './commands/describe';
import { registerGetCommand } from './commands/get';
import { registerDownCommand } from './commands/down';
import { registerExecCommand } from './commands/exec';
import { registerImageCommands } from './commands/image';
import { registerLogsCommand } from './commands/logs';
import { registerNodeCommands } from './commands/node';
import { registerRolloutCommands } from './commands/rollout';
import { registerRuntimeCommands } from './commands/runtime';
import { registerSecurityCommands } from './commands/security';
import { registerTopCommand } from './commands/top';
import { registerUpCommands } from './commands/up';

export const buildProgram = (): Command => {
  const program = new Command('berth')
    .description('Berth: a Kubernetes-style declarative container platform')
    .option('--kubeconfig <path>', 'kubeconfig file (default $KUBECONFIG or $BERTH_HOME/admin.kubeconfig)')
    .option('-n, --namespace <namespace>', 'namespace (default: the kubeconfig context\'s)');
  registerUpCommands(program);
  registerApplyCommand(program);
  registerGetCommand(program);
  registerDescribeCommand(program);
  registerDeleteCommand(program);
  registerLogsCommand(program);
  registerExecCommand(program);
  registerRolloutCommands(program);
  registerTopCommand(program);
  registerNodeCommands(program);
  registerDownCommand(program);
  registerImageCommands(program);
  registerRuntimeCommands(program);
  registerSecurityCommands(program);
  return program;
};

if (require.main === module || require.main?.filename.endsWith('/bin/berth')) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      const message = err instanceof ApiStatusError ? `Error from server (${err.status.reason ?? err.statusCode}): ${err.status.message ?? ''}` : `error: ${(err as Error).message}`;
      console.error(message);
      process.exit(1);
    });
}
