/** Request bodies for the small built-in endpoints of this module (access reviews, TokenRequest). */
import express, { type Request, type RequestHandler } from 'express';
import { decodeAuthzProtobuf, ProtobufDecodeError } from './protobuf';

const MAX_BODY = 1024 * 1024;

/** Reads the raw body (any content type, 1 MiB at most) for parseBody. */
export const rawBody: RequestHandler = express.raw({ type: () => true, limit: MAX_BODY });

/** The JSON body, or the protobuf one kubectl sends for built-in kinds. Throws (→ 400) on malformed input. */
export function parseBody(req: Request): unknown {
  const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if ((req.headers['content-type'] ?? '').startsWith('application/vnd.kubernetes.protobuf')) {
    const decoded = decodeAuthzProtobuf(bytes);
    if (decoded === undefined) throw new ProtobufDecodeError('this endpoint does not take that kind');
    return decoded;
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error('request body is not valid JSON');
  }
}
