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
  private ino: number;
  private closed = false;
  private pending: string[] = [];
  private readonly maxBytes: number;
  private readonly backups: number;

  /**
   * Opens `file` for appending (created mode 0600). Lines written in one event-loop turn are appended together by one
   * write at the end of the turn (setImmediate), not one synchronous write each; close() writes what is pending, so a
   * clean shutdown loses nothing (a crash can lose the lines of its last turn). Several processes (API server workers)
   * may append to one file: each write is one O_APPEND write of whole lines, and rotation notices another's.
   */
  constructor(
    readonly file: string,
    opts: AuditLogOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.backups = opts.backups ?? 3;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(file, 'a', 0o600);
    this.ino = fs.fstatSync(this.fd).ino;
  }

  /** Queues one line. Never throws: a failing audit write is reported on stderr, not turned into a crashed server. */
  write(entry: AuditEntry): void {
    if (this.closed) return; // a response that finishes while the server shuts down
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push(`${JSON.stringify(entry)}\n`);
  }

  /** Appends the queued lines, rotating first whenever the next line would take the file past maxBytes. */
  private flush(): void {
    const lines = this.pending;
    this.pending = [];
    if (lines.length === 0 || this.closed) return;
    try {
      // The file's real size: other processes may append to it too.
      let size = fs.fstatSync(this.fd).size;
      let chunk = '';
      let chunkBytes = 0;
      for (const line of lines) {
        const lineBytes = Buffer.byteLength(line);
        if (size + chunkBytes > 0 && size + chunkBytes + lineBytes > this.maxBytes) {
          fs.writeSync(this.fd, chunk);
          size = this.rotate();
          chunk = '';
          chunkBytes = 0;
        }
        chunk += line;
        chunkBytes += lineBytes;
      }
      fs.writeSync(this.fd, chunk);
    } catch (err) {
      console.error(`berth-apiserver: cannot write audit log ${this.file}: ${(err as Error).message}`);
    }
  }

  /**
   * FILE → FILE.1 → … → FILE.N (the oldest dropped), then a fresh FILE; if another process has just rotated it (FILE
   * is no longer the file this one appends to), only reopens FILE. Returns the size of the file now open.
   */
  private rotate(): number {
    fs.closeSync(this.fd);
    const current = fs.statSync(this.file, { throwIfNoEntry: false });
    if (current === undefined || current.ino === this.ino) {
      for (let i = this.backups; i >= 1; i--) {
        const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
        if (fs.existsSync(from)) fs.renameSync(from, `${this.file}.${i}`);
      }
      if (this.backups === 0) fs.rmSync(this.file, { force: true });
    }
    this.fd = fs.openSync(this.file, 'a', 0o600);
    const stat = fs.fstatSync(this.fd);
    this.ino = stat.ino;
    return stat.size;
  }

  /** Writes the pending lines and closes the file; later writes are ignored. */
  close(): void {
    if (this.closed) return;
    this.flush();
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
