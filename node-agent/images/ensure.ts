/**
 * What the node agent asks before starting a container: make `ref` present according to a
 * Kubernetes pull policy and return the digest to run (tags move; the digest is what runs).
 */
import { ImageNotFoundError, ImageStore } from './store';
import { parseReference } from './refs';
import { pullImage, PullOptions } from './registry/pull';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** Kubernetes' default: `Always` for `:latest` (or no tag), `IfNotPresent` otherwise. */
export function defaultPullPolicy(ref: string): PullPolicy {
  const parsed = parseReference(ref);
  return parsed.digest === undefined && parsed.tag === 'latest' ? 'Always' : 'IfNotPresent';
}

export async function ensureImage(store: ImageStore, ref: string, policy: PullPolicy = defaultPullPolicy(ref), options: PullOptions = {}): Promise<string> {
  if (policy !== 'Always') {
    try {
      return store.resolve(ref);
    } catch (err) {
      if (!(err instanceof ImageNotFoundError) || policy === 'Never') throw err;
    }
  }
  return (await pullImage(store, ref, options)).digest;
}
