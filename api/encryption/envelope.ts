/**
 * AES-256-GCM envelope encryption of one object's payload.
 *
 * Each seal draws a fresh data key (DEK); the payload is encrypted under the DEK and the DEK under the active
 * key-encryption key (KEK) from the key ring. The storage key is the additional authenticated data of both, so a
 * ciphertext copied onto another object fails authentication instead of decrypting there.
 * Sealed form (all base64): `{ v: 1, kid, wrappedKey, iv, ct }` where wrappedKey and ct each end in their 16-byte tag.
 */
import * as crypto from 'node:crypto';
import type { KeyProvider } from './keyring';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  readonly v: 1;
  /** Id of the KEK that wrapped the data key. */
  readonly kid: string;
  readonly wrappedKey: string;
  readonly iv: string;
  readonly ct: string;
}

export class DecryptionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecryptionError';
  }
}

export function seal(plaintext: Buffer, aad: string, keys: KeyProvider): Sealed {
  const { id, key } = keys.activeKey();
  const dek = crypto.randomBytes(32);
  const wrapIv = crypto.randomBytes(IV_BYTES);
  const wrapped = encrypt(key, wrapIv, dek, aad);
  const iv = crypto.randomBytes(IV_BYTES);
  const ct = encrypt(dek, iv, plaintext, aad);
  // The wrap IV travels in front of the wrapped key.
  return { v: 1, kid: id, wrappedKey: Buffer.concat([wrapIv, wrapped]).toString('base64'), iv: iv.toString('base64'), ct: ct.toString('base64') };
}

/** Opens what `seal` made for the same `aad`. Throws DecryptionError on an unknown key, tampering or a moved ciphertext. */
export function open(sealed: Sealed, aad: string, keys: KeyProvider): Buffer {
  if (sealed?.v !== 1 || typeof sealed.kid !== 'string') throw new DecryptionError('unknown envelope format');
  const kek = keys.keyById(sealed.kid);
  if (kek === undefined) throw new DecryptionError(`encryption key "${sealed.kid}" is not in the key file`);
  const wrapped = Buffer.from(sealed.wrappedKey ?? '', 'base64');
  const dek = decrypt(kek, wrapped.subarray(0, IV_BYTES), wrapped.subarray(IV_BYTES), aad);
  return decrypt(dek, Buffer.from(sealed.iv ?? '', 'base64'), Buffer.from(sealed.ct ?? '', 'base64'), aad);
}

function encrypt(key: Buffer, iv: Buffer, plaintext: Buffer, aad: string): Buffer {
  const cipher = crypto.createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function decrypt(key: Buffer, iv: Buffer, sealedBytes: Buffer, aad: string): Buffer {
  if (iv.length !== IV_BYTES || sealedBytes.length < TAG_BYTES) throw new DecryptionError('truncated ciphertext');
  try {
    const decipher = crypto.createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealedBytes.subarray(sealedBytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealedBytes.subarray(0, sealedBytes.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new DecryptionError('ciphertext failed authentication (tampered, truncated, or moved from another object)', { cause: err });
  }
}
