/**
 * Cluster security commands:
 *   berth token create [--role worker|manager] [--ttl 24h]   a join token (BERTH-1-<CA fingerprint>-<secret>)
 *   berth token rotate [--role worker|manager]               invalidates that role's tokens (joined nodes keep working)
 *   berth node revoke NAME                                   revokes the node's certificates (it gets 401 from then on)
 *   berth secrets reencrypt [--no-rotate] [--keep-keys]      new active key, every Secret rewritten, old keys dropped
 * Tokens and node certificates are files under $BERTH_HOME shared with the running API server, so those commands run on
 * the server's machine; `secrets reencrypt` goes through the API (the server holds the store) and needs a cluster admin.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CertificateAuthority, JoinRole, JoinTokens } from '../../api/auth';
import { clientFor, type GlobalOptions } from '../context';
import { berthHome } from './node';

// Loaded when a command runs, not at start-up: every other berth command would pay for the server's modules.
const auth = (): typeof import('../../api/auth') => require('../../api/auth') as typeof import('../../api/auth');
const REENCRYPT_PATH = '/admin/v1/encryption/reencrypt'; // api/encryption REENCRYPT_PATH (that module loads the server's)

/** The cluster CA under `home`, without creating one (a new CA would belong to no cluster). */
const clusterCa = (home: string): CertificateAuthority => {
  const [certFile, keyFile] = ['ca.crt', 'ca.key'].map((f) => path.join(home, 'pki', f));
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) {
    throw new Error(`no cluster CA in ${path.join(home, 'pki')}: run this on the API server's machine (or set BERTH_HOME to its home)`);
  }
  return { certPem: fs.readFileSync(certFile, 'utf8'), keyPem: fs.readFileSync(keyFile, 'utf8') };
};

const joinTokens = (home: string): JoinTokens => auth().JoinTokens.fromHome(home, auth().certificateFingerprint(clusterCa(home).certPem));

const parseRole = (role: string): JoinRole => {
  if (role !== 'worker' && role !== 'manager') throw new Error(`--role must be worker or manager, not "${role}"`);
  return role;
};

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `30m`, `24h`, `7d` → seconds. */
export const parseTtl = (ttl: string): number => {
  const match = /^(\d+)([smhd]?)$/.exec(ttl);
  if (!match || Number(match[1]) === 0) throw new Error(`--ttl must be a positive duration like 3600, 30m, 24h or 7d, not "${ttl}"`);
  return Number(match[1]) * UNIT_SECONDS[match[2] || 's'];
};

interface ReencryptAnswer {
  readonly activeKey: string;
  readonly keys: readonly string[];
  readonly reencrypted: number;
}

export const registerSecurityCommands = (program: Command): void => {
  const token = program.command('token').description('join tokens for new nodes');
  token
    .command('create')
    .description('print a new join token (earlier ones stay valid until rotated or expired)')
    .option('--role <role>', 'worker or manager', 'worker')
    .option('--ttl <duration>', 'the token stops working after this long (3600, 30m, 24h, 7d); default: until rotated')
    .action((opts: { role: string; ttl?: string }) => {
      const role = parseRole(opts.role);
      const ttlSeconds = opts.ttl === undefined ? undefined : parseTtl(opts.ttl);
      console.log(joinTokens(berthHome()).create(role, { ttlSeconds }));
    });
  token
    .command('rotate')
    .description("invalidate every join token of a role and print a new one; joined nodes keep their certificates")
    .option('--role <role>', 'worker or manager', 'worker')
    .action((opts: { role: string }) => {
      console.log(joinTokens(berthHome()).rotate(parseRole(opts.role)));
    });

  const node = program.commands.find((c) => c.name() === 'node') ?? program.command('node').description('cluster nodes');
  node
    .command('revoke <name>')
    .description("revoke every certificate of a node: it is refused (401) from now on and cannot join again under that name")
    .action((name: string) => {
      const home = berthHome();
      const count = auth().NodeCertificates.fromHome(home, clusterCa(home)).revokeNode(name);
      console.log(`node/${name} revoked (${count} live certificate${count === 1 ? '' : 's'})`);
    });

  program
    .command('secrets')
    .description('Secrets encryption at rest')
    .command('reencrypt')
    .description('make a new active encryption key, rewrite every Secret under it and drop the old keys')
    .option('--no-rotate', 'keep the active key (only rewrite Secrets still under older keys)')
    .option('--keep-keys', 'keep the old keys in the key file')
    .action(async (opts: { rotate: boolean; keepKeys?: boolean }, cmd: Command) => {
      const client = clientFor(cmd.optsWithGlobals<GlobalOptions>());
      try {
        const answer = await client.call<ReencryptAnswer>('POST', REENCRYPT_PATH, { query: { rotate: opts.rotate, prune: !opts.keepKeys } });
        console.log(`secrets re-encrypted: ${answer.reencrypted} under key ${answer.activeKey} (keys: ${answer.keys.join(', ')})`);
      } finally {
        client.close();
      }
    });
};
