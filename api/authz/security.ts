/**
 * Everything the API server needs for "secure by default", assembled in one call: the cluster PKI, the admin token,
 * the authenticators (client certificates minus revoked node certificates, bearer tokens, service-account tokens,
 * join tokens), RBAC + node authorization fed from storage, the audit log, node joining, and the express guards.
 */
import * as path from 'node:path';
import type { RequestHandler } from 'express';
import {
  AuditLog,
  auditMiddleware,
  authenticationMiddleware,
  ClientCertificateAuthenticator,
  ClusterPki,
  credentialRecheckMiddleware,
  ensureClusterPki,
  joinRouter,
  JoinTokens,
  NodeCertificates,
  selfSubjectReviewRouter,
  ServiceAccountTokens,
  tlsServerOptions,
  TokenFileAuthenticator,
  UnionAuthenticator,
  type UserInfo,
} from '../auth';
import { encryptionAdminRouter, type KeyRing } from '../encryption';
import type { Storage } from '../storage';
import { attributesOf, authorizationMiddleware } from './middleware';
import { isRbacResource, rbacEscalationError } from './escalation';
import { impersonationMiddleware } from './impersonation';
import { NodeAuthorizer, nodeWriteError } from './node';
import { RbacAuthorizer } from './rbac';
import { accessReviewRouter } from './review-router';
import { tokenRequestRouter } from './token-request';
import { nodeGraphFromStorage, rbacListerFromStorage } from './sources';
import type { Attributes, Authorizer } from './types';
import { UnionAuthorizer } from './union';

export interface ClusterSecurityOptions {
  /** $BERTH_HOME: pki/, tokens.json, audit.log live here. */
  readonly home: string;
  /** The server's storage (RBAC objects and Containers are read from it). */
  readonly storage: Storage;
  /** Extra names/addresses for the serving certificate. */
  readonly hosts?: readonly string[];
  /** Put every interface address in the serving certificate (set it when listening on 0.0.0.0, so remote nodes can join by IP). */
  readonly includeInterfaceAddresses?: boolean;
  /** Validity of node certificates issued to joining agents (default 90 days). */
  readonly nodeCertificateDays?: number;
  /** The key ring of the server's EncryptingStorage: serves POST /admin/v1/encryption/reencrypt (cluster admins). */
  readonly encryptionKeys?: KeyRing;
  /**
   * Let node agents add/remove their finalizer on their Containers (a main-resource patch). Turn on only when the
   * server calls `admit` on every write, which refuses any other change by a node.
   */
  readonly nodeContainerFinalizers?: boolean;
  /** How often the credentials of a request still open (a watch) are checked again; default 5 s. */
  readonly credentialRecheckMs?: number;
}

export interface ClusterSecurity {
  readonly pki: ClusterPki;
  readonly adminToken: string;
  readonly tokens: TokenFileAuthenticator;
  readonly serviceAccounts: ServiceAccountTokens;
  /** `berth token create|rotate`. */
  readonly joinTokens: JoinTokens;
  /** Issues, records and revokes node certificates. */
  readonly nodeCertificates: NodeCertificates;
  readonly authorizer: Authorizer;
  readonly rbac: RbacAuthorizer;
  readonly audit: AuditLog;
  /** `https.createServer(tlsOptions, app)`. */
  readonly tlsOptions: ReturnType<typeof tlsServerOptions>;
  /** audit → authentication (401, re-checked while a request stays open) → impersonation → authorization (403) → reviews → /join/v1 → TokenRequest; before every route. */
  readonly guards: readonly RequestHandler[];
  /**
   * Admission for a write whose resulting object is known (after the body is parsed and the patch applied): a node's
   * own-object and finalizer-only rules, and RBAC escalation prevention. Returns the refusal (answer 403 Forbidden
   * with it) or undefined.
   */
  admit(user: UserInfo, attrs: Attributes, object: Record<string, unknown>): Promise<string | undefined>;
  /** Closes the audit log. */
  close(): void;
}

export function createClusterSecurity(opts: ClusterSecurityOptions): ClusterSecurity {
  const pki = ensureClusterPki(opts.home, { hosts: opts.hosts, includeInterfaceAddresses: opts.includeInterfaceAddresses });
  // Read on every request: its stat is taken at most once a second (`berth token revoke` is seen within that second).
  const tokens = new TokenFileAuthenticator(path.join(opts.home, 'tokens.json'), { recheckMs: 1000 });
  const adminToken = tokens.ensureAdminToken();
  const serviceAccounts = ServiceAccountTokens.fromHome(opts.home);
  const joinTokens = JoinTokens.fromHome(opts.home, pki.caFingerprint);
  const nodeCertificates = NodeCertificates.fromHome(opts.home, pki.ca, opts.nodeCertificateDays);
  const clientCertificates = new ClientCertificateAuthenticator(pki.ca.certPem, {
    isRevoked: (serial) => nodeCertificates.isRevoked(serial),
  });
  const authenticator = new UnionAuthenticator([clientCertificates, tokens, serviceAccounts, joinTokens]);
  const rbac = new RbacAuthorizer(rbacListerFromStorage(opts.storage));
  const nodeGraph = nodeGraphFromStorage(opts.storage);
  const nodes = new NodeAuthorizer(nodeGraph, { containerFinalizers: opts.nodeContainerFinalizers });
  const authorizer = new UnionAuthorizer([nodes, rbac]);
  const audit = new AuditLog(path.join(opts.home, 'audit.log'));
  return {
    pki,
    adminToken,
    tokens,
    serviceAccounts,
    joinTokens,
    nodeCertificates,
    authorizer,
    rbac,
    audit,
    tlsOptions: tlsServerOptions(pki),
    guards: [
      auditMiddleware(audit, attributesOf),
      authenticationMiddleware(authenticator),
      credentialRecheckMiddleware(authenticator, opts.credentialRecheckMs),
      impersonationMiddleware(authorizer),
      authorizationMiddleware(authorizer),
      accessReviewRouter(authorizer, { rulesFor: (user, ns) => rbac.rulesFor(user, ns) }),
      selfSubjectReviewRouter(),
      joinRouter(pki.ca, nodeCertificates),
      tokenRequestRouter(serviceAccounts),
      ...(opts.encryptionKeys ? [encryptionAdminRouter(opts.storage, opts.encryptionKeys)] : []),
    ],
    admit: async (user, attrs, object) => {
      const nodeRefusal = await nodeWriteError(user, attrs, object, nodeGraph);
      if (nodeRefusal !== undefined) return nodeRefusal;
      const writes = attrs.verb === 'create' || attrs.verb === 'update' || attrs.verb === 'patch';
      if (!writes || !isRbacResource(attrs.apiGroup, attrs.resource)) return undefined;
      return rbacEscalationError(authorizer, rbac, user, attrs.resource, object);
    },
    close: () => audit.close(),
  };
}
