/**
 * `berth secrets reencrypt` over HTTP, for a CLI that cannot open the store itself (SQLite is held exclusively by the
 * server): POST /admin/v1/encryption/reencrypt[?rotate=true][&prune=true] → 200
 * { activeKey, keys, reencrypted }. With `rotate`, a new active key is made first; every Secret is then rewritten
 * under the active key (through the server's storage stack, so caches and watchers stay consistent); with `prune`,
 * keys other than the active one are dropped afterwards. Only cluster admins reach it (a non-resource POST that the
 * built-in policy grants to nobody else).
 */
import express, { type RequestHandler } from 'express';
import { forPaths } from '../server/route-filter';
import type { Storage } from '../storage';
import type { KeyRing } from './keyring';
import { DEFAULT_ENCRYPTED_PREFIXES, reencryptAll } from './storage';

export const REENCRYPT_PATH = '/admin/v1/encryption/reencrypt';

const isTrue = (v: unknown): boolean => v === 'true' || v === '1' || v === 'True';

export function encryptionAdminRouter(storage: Storage, keys: KeyRing, prefixes: readonly string[] = DEFAULT_ENCRYPTED_PREFIXES): RequestHandler {
  const router = express.Router();
  router.post(REENCRYPT_PATH, (req, res, next) => {
    (async () => {
      if (isTrue(req.query.rotate)) keys.rotate();
      let reencrypted = 0;
      for (const prefix of prefixes) reencrypted += await reencryptAll(storage, prefix);
      if (isTrue(req.query.prune)) keys.prune();
      res.json({ activeKey: keys.activeKey().id, keys: keys.ids(), reencrypted });
    })().catch(next);
  });
  return forPaths(/^\/admin\//i, router);
}
