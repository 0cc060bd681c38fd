/** The client a CLI command talks through: from --kubeconfig (or $KUBECONFIG / $BERTH_HOME/admin.kubeconfig). */
import { ApiClient, loadKubeconfig } from '../client';

export interface GlobalOptions {
  readonly kubeconfig?: string;
  readonly namespace?: string;
}

export const clientFor = (opts: GlobalOptions): ApiClient => new ApiClient(loadKubeconfig(opts.kubeconfig));

/** The namespace a command works in: -n, else the kubeconfig context's. */
export const namespaceOf = (client: ApiClient, opts: GlobalOptions): string => opts.namespace ?? client.defaultNamespace;
