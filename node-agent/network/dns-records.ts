/**
 * The names a Network's containers can resolve: containers and Services on it, each under `NAME`,
 * `NAME.NAMESPACE` and `NAME.NAMESPACE.berth.local`. The agent keeps it current; lookups read it live,
 * so answers follow changes at once.
 */

export const CLUSTER_DOMAIN = 'berth.local';

export interface NameRecord {
  readonly name: string;
  readonly namespace: string;
  /** A container has one address on a network; a Service may have several (its ready endpoints). */
  readonly addresses: readonly string[];
}

export class RecordTable {
  private readonly records = new Map<string, NameRecord>();

  /** @param homeNamespace where a bare `NAME` is looked up: the Network's own namespace. */
  constructor(readonly homeNamespace: string) {}

  /** Adds or replaces the record of `namespace/name`. */
  set(record: NameRecord): void {
    this.records.set(keyOf(record.name, record.namespace), { ...record, addresses: [...record.addresses] });
  }

  /** Removes `namespace/name`; a missing one is a no-op. */
  delete(name: string, namespace: string): void {
    this.records.delete(keyOf(name, namespace));
  }

  /** Addresses for a query name (any case, with or without the trailing dot), or undefined when the name is not ours. */
  resolve(queryName: string): readonly string[] | undefined {
    const name = queryName.toLowerCase().replace(/\.$/, '');
    const suffix = `.${CLUSTER_DOMAIN}`;
    const qualified = name.endsWith(suffix);
    const labels = (qualified ? name.slice(0, -suffix.length) : name).split('.');
    if (labels.length === 1 && !qualified) return this.records.get(keyOf(labels[0], this.homeNamespace))?.addresses;
    // The fully-qualified form must name a namespace; `NAME.berth.local` is not a name we serve.
    if (labels.length === 2) return this.records.get(keyOf(labels[0], labels[1]))?.addresses;
    return undefined;
  }

  /** Every record, for writing a hosts file. */
  list(): NameRecord[] {
    return [...this.records.values()];
  }
}

function keyOf(name: string, namespace: string): string {
  return `${namespace.toLowerCase()}/${name.toLowerCase()}`;
}
