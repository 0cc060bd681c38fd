/**
 * Image references parsed the way Docker does (distribution/reference "normalized named"):
 * `busybox` → docker.io/library/busybox:latest, `localhost:5000/a/b:tag`, `name@sha256:…`.
 */

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host[:port], e.g. `docker.io`, `localhost:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly repository: string;
  /** Tag, if the reference names one (defaulted to `latest` when no digest is given). */
  readonly tag?: string;
  /** `sha256:<hex>` if the reference pins a digest. */
  readonly digest?: string;
}

export class InvalidReferenceError extends Error {
  constructor(readonly ref: string, reason: string) {
    super(`invalid image reference "${ref}": ${reason}`);
    this.name = 'InvalidReferenceError';
  }
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

/** Parses a reference; throws InvalidReferenceError naming the offending part. */
export function parseReference(ref: string): ImageReference {
  if (ref.length === 0 || ref.length > 255 + 128 + 72) throw new InvalidReferenceError(ref, 'empty or too long');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(ref, `bad digest "${digest}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(ref, `bad tag "${tag}"`);
  }
  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  // Docker's rule: the first component is a registry if it has a dot or port, is localhost, or has upper case.
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      if (!DOMAIN.test(first)) throw new InvalidReferenceError(ref, `bad registry "${first}"`);
      registry = first === 'index.docker.io' ? DEFAULT_REGISTRY : first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  for (const component of repository.split('/')) {
    if (!COMPONENT.test(component)) {
      throw new InvalidReferenceError(ref, `bad repository component "${component}" (lower-case letters, digits, separators)`);
    }
  }
  if (registry.length + 1 + repository.length > 255) throw new InvalidReferenceError(ref, 'name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `registry/repository` — the name a tag index keys on. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Fully qualified form: `docker.io/library/busybox:latest` or `…@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Short form as `docker images` shows it: `busybox:latest`, `localhost:5000/a/b:tag`. */
export function familiarReference(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.registry === DEFAULT_REGISTRY) {
    name = ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
  }
  return name + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** True for registries Docker lets speak plain HTTP: loopback hosts. */
export function isInsecureByDefault(registry: string): boolean {
  const host = registry.replace(/:[0-9]+$/, '');
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}
