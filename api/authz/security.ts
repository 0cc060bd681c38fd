/**
 * Everything the API server needs for "secure by default", assembled in one call: the cluster PKI, the admin token,
 * the authenticators, RBAC + node authorization fed from storage, the audit log, and the express guards in order.
 */
import * as path from 'node:path';
import type { RequestHandler } from 'express';
import {
  AuditLog,
  auditMiddleware,
  authenticationMiddleware,
  ClientCertificateAuthenticator,
  ClusterPki,
  ensureClusterPki,
  ServiceAccountTokens,
  tlsServerOptions,
  TokenFileAuthenticator,
  UnionAuthenticator,
} from '../auth';
import type { Storage } from '../storage';
import { attributesOf, authorizationMiddleware } from './middleware';
import { NodeAuthorizer } from './node';
import { RbacAuthorizer } from './rbac';
import { accessReviewRouter } from './review-router';
import { nodeGraphFromStorage, rbacListerFromStorage } from './sources';
import type { Authorizer } from './types';
import { UnionAuthorizer } from './union';

export interface ClusterSecurityOptions {
  /** $BERTH_HOME: pki/, tokens.json, audit.log live here. */
  readonly home: string;
  /** The server's storage (RBAC objects and Containers are read from it). */
  readonly storage: Storage;
  /** Extra names/addresses for the serving certificate. */
  readonly hosts?: readonly string[];
}

export interface ClusterSecurity {
  readonly pki: ClusterPki;
  readonly adminToken: string;
  readonly tokens: TokenFileAuthenticator;
  readonly serviceAccounts: ServiceAccountTokens;
  readonly authorizer: Authorizer;
  readonly rbac: RbacAuthorizer;
  readonly audit: AuditLog;
  /** `https.createServer(tlsOptions, app)`. */
  readonly tlsOptions: ReturnType<typeof tlsServerOptions>;
  /** audit → authentication (401) → authorization (403) → access reviews; mount before every route. */
  readonly guards: readonly RequestHandler[];
  /** Closes the audit log. */
  close(): void;
}

export function createClusterSecurity(opts: ClusterSecurityOptions): ClusterSecurity {
  const pki = ensureClusterPki(opts.home, { hosts: opts.hosts });
  const tokens = new TokenFileAuthenticator(path.join(opts.home, 'tokens.json'));
  const adminToken = tokens.ensureAdminToken();
  const serviceAccounts = ServiceAccountTokens.fromHome(opts.home);
  const authenticator = new UnionAuthenticator([new ClientCertificateAuthenticator(pki.ca.certPem), tokens, serviceAccounts]);
  const rbac = new RbacAuthorizer(rbacListerFromStorage(opts.storage));
  const authorizer = new UnionAuthorizer([new NodeAuthorizer(nodeGraphFromStorage(opts.storage)), rbac]);
  const audit = new AuditLog(path.join(opts.home, 'audit.log'));
  return {
    pki,
    adminToken,
    tokens,
    serviceAccounts,
    authorizer,
    rbac,
    audit,
    tlsOptions: tlsServerOptions(pki),
    guards: [
      auditMiddleware(audit, attributesOf),
      authenticationMiddleware(authenticator),
      authorizationMiddleware(authorizer),
      accessReviewRouter(authorizer, { rulesFor: (user, ns) => rbac.rulesFor(user, ns) }),
    ],
    close: () => audit.close(),
  };
}
