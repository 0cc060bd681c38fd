/**
 * Authentication for the Berth API server: cluster PKI, bearer / service-account / client-certificate / join-token
 * authenticators, kubeconfig writing, the audit log, node joining and `kubectl auth whoami`.
 *
 * The server normally takes all of it through api/authz's `createClusterSecurity({ home, storage })`, which does the
 * steps below plus authorization. The pieces, in order:
 *   const pki = ensureClusterPki(home, { hosts });                          // first start creates $BERTH_HOME/pki/*
 *   const tokens = new TokenFileAuthenticator(path.join(home, 'tokens.json'));
 *   const adminToken = tokens.ensureAdminToken();                             // user "admin", group system:masters
 *   const serviceAccounts = ServiceAccountTokens.fromHome(home);
 *   const authenticator = new UnionAuthenticator([
 *     new ClientCertificateAuthenticator(pki.ca.certPem), tokens, serviceAccounts]);
 *   writeKubeconfig(path.join(home, 'admin.kubeconfig'),
 *     { server: `https://127.0.0.1:${port}`, caPem: pki.ca.certPem, user: { token: adminToken } });
 *   https.createServer(tlsServerOptions(pki), app)                            // asks for, never requires, a client cert
 *   app.use(auditMiddleware(new AuditLog(path.join(home, 'audit.log')), attributesOf))      // 1. sees refusals too
 *   app.use(authenticationMiddleware(authenticator))                         // 2. 401 Status, or getUser(req) is set
 *   app.use(authorizationMiddleware(authorizer))                             // 3. (api/authz) 403 Status
 *   ...routes; handlers read the caller with getUser(req).
 * `/healthz`, `/readyz`, `/livez`, `/version` (and their subpaths) and `/join/v1/ca` answer without credentials (as
 * system:anonymous); invalid credentials get 401 on every path. `/metrics` needs credentials.
 *
 * Joining (issue 8): `JoinTokens.fromHome(home, pki.caFingerprint).create('worker')` is `berth token create`,
 * `.rotate(role)` is `berth token rotate`; `NodeCertificates.fromHome(home, pki.ca).revokeNode(name)` revokes a node.
 * The agent calls `ensureNodeCredentials({ server, dir, nodeName, token })` at start and, say, hourly: it joins once
 * (credentials saved 0600 in `dir`), then renews when two thirds of the certificate's life have passed. api/authz's createClusterSecurity wires
 * the server side (JoinTokens authenticator, revocation check, joinRouter).
 */
export * from './types';
export {
  ensureClusterPki,
  createCertificateAuthority,
  issueClientCertificate,
  certificateFingerprint,
  tlsServerOptions,
  writeSecretFile,
  parseCertificate,
} from './pki';
export type { ClusterPki, CertificateAuthority, ClientCertificateRequest, IssuedCertificate, PkiOptions } from './pki';
export { TokenFileAuthenticator, ADMIN_USERNAME } from './tokens';
export { SharedJsonFile } from './jsonfile';
export type { TokenEntry } from './tokens';
export { ServiceAccountTokens, ServiceAccountRevocations } from './serviceaccount';
export type { ServiceAccountClaims, ServiceAccountOptions } from './serviceaccount';
export { ClientCertificateAuthenticator } from './clientcert';
export type { ClientCertificateOptions } from './clientcert';
export { UnionAuthenticator } from './union';
export {
  authenticationMiddleware,
  authRequestFrom,
  actAs,
  getImpersonator,
  getUser,
  getAuthenticationFailure,
  isPublicPath,
  unauthorizedStatus,
  PUBLIC_PATHS,
  ANONYMOUS_USER,
} from './middleware';
export { buildKubeconfig, writeKubeconfig } from './kubeconfig';
export type { KubeconfigOptions, KubeconfigUser } from './kubeconfig';
export { AuditLog, auditMiddleware } from './audit';
export { credentialRecheckMiddleware, CREDENTIAL_RECHECK_MS } from './recheck';
export {
  JoinTokens,
  NodeCertificates,
  parseJoinToken,
  JOIN_TOKEN_VERSION,
  GROUP_BOOTSTRAPPERS,
  GROUP_MANAGERS,
  BOOTSTRAP_USER_PREFIX,
  DEFAULT_NODE_CERT_DAYS,
} from './join';
export type { JoinRole } from './join';
export { joinRouter, JOIN_PATH_PREFIX } from './join-router';
export { selfSubjectReviewRouter } from './whoami';
export { statusBody, sendStatus, bodyParserErrors } from './status';
export {
  joinCluster,
  renewNodeCertificate,
  shouldRenew,
  saveNodeCredentials,
  loadNodeCredentials,
  ensureNodeCredentials,
  JoinError,
} from './join-client';
export type { NodeCredentials } from './join-client';
export type { AuditEntry, AuditAttributes, AuditLogOptions } from './audit';
