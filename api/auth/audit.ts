/**
 * The audit log: one JSON object per line — who, what, when, outcome. Request and response bodies are never
 * written, so secret payloads cannot reach it; only the URL path (not the query string, which may carry a
 * token-bearing `continue` or a field selector on values) and the request attributes are recorded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getAuthenticationFailure, getImpersonator, getUser } from './middleware';

export interface AuditEntry {
  readonly time: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly verb: string;
  readonly method: string;
  readonly path: string;
  readonly apiGroup?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly code: number;
  readonly sourceIP?: string;
  readonly reason?: string;
  /** Set when `user` was impersonated: who really sent the request. */
  readonly impersonatedBy?: string;
}

/** What the audit middleware needs to know about a request; `api/authz`'s `requestAttributes` provides it. */
export interface AuditAttributes {
  readonly verb: string;
  readonly apiGroup?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export interface AuditLogOptions {
  /** Rotate when the file would grow past this (default 100 MiB), like kube-apiserver's --audit-log-maxsize. */
  readonly maxBytes?: number;
  /** Rotated files kept as FILE.1 (newest) … FILE.N (default 3). */
  readonly backups?: number;
}

export class AuditLog {
  private fd: number;
  private size: number;
  private closed = false;
  private readonly maxBytes: number;
  private readonly backups: number;

  /** Opens `file` for appending (created mode 0600). Writes are synchronous, so an entry survives a crash right after. */
  constructor(
    readonly file: string,
    opts: AuditLogOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.backups = opts.backups ?? 3;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends one line. Never throws: a failing audit write is reported on stderr, not turned into a crashed server. */
  write(entry: AuditEntry): void {
    if (this.closed) return; // a response that finishes while the server shuts down
    const line = Buffer.from(JSON.stringify(entry) + '\n');
    try {
      if (this.size > 0 && this.size + line.length > this.maxBytes) this.rotate();
      fs.writeSync(this.fd, line);
      this.size += line.length;
    } catch (err) {
      console.error(`berth-apiserver: cannot write audit log ${this.file}: ${(err as Error).message}`);
    }
  }

  /** FILE → FILE.1 → … → FILE.N (the oldest dropped), then a fresh FILE. */
  private rotate(): void {
    fs.closeSync(this.fd);
    for (let i = this.backups; i >= 1; i--) {
      const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
      if (fs.existsSync(from)) fs.renameSync(from, `${this.file}.${i}`);
    }
    if (this.backups === 0) fs.unlinkSync(this.file);
    this.fd = fs.openSync(this.file, 'a', 0o600);
    this.size = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Express middleware that records each mutating request, and every refused one (401/403) whatever its verb, when
 * the response finishes. Mount it before authentication so refused requests are seen too.
 */
export function auditMiddleware(log: AuditLog, attributesOf: (req: Request) => AuditAttributes): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => {
      const refused = res.statusCode === 401 || res.statusCode === 403;
      if (!MUTATING_METHODS.has(req.method) && !refused) return;
      const user = getUser(req);
      const attrs = attributesOf(req);
      log.write({
        time: new Date().toISOString(),
        user: user?.username ?? 'system:anonymous',
        groups: user?.groups ?? [],
        verb: attrs.verb,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        apiGroup: attrs.apiGroup,
        resource: attrs.resource,
        subresource: attrs.subresource,
        namespace: attrs.namespace,
        name: attrs.name,
        code: res.statusCode,
        sourceIP: req.socket.remoteAddress,
        reason: getAuthenticationFailure(req),
        impersonatedBy: getImpersonator(req)?.username,
      });
    });
    next();
  };
}
