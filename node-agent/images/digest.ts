/** sha256 digests: computing, validating, and blob names. */
import { createHash } from 'crypto';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export class DigestMismatchError extends Error {
  constructor(readonly expected: string, readonly actual: string, what: string) {
    super(`digest mismatch for ${what}: expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

export class SizeMismatchError extends Error {
  constructor(readonly expected: number, readonly actual: number, what: string) {
    super(`size mismatch for ${what}: descriptor says ${expected} bytes, content has ${actual === -1 ? 'more' : actual}`);
    this.name = 'SizeMismatchError';
  }
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** The hex part of a `sha256:` digest; throws for any other algorithm or a malformed digest. */
export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new Error(`invalid digest "${digest}" (only sha256:<64 hex> is supported)`);
  return m[1];
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}
