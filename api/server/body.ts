/**
 * Request bodies: read with a hard size limit (413), decoded by Content-Type (JSON, YAML with a bounded alias count,
 * the patch types, and the protobuf kubectl sends for built-in kinds). Malformed input is a 400, never a 500.
 */
import type { Request } from 'express';
import { parseAllDocuments, parseDocument } from 'yaml';
import { badRequest, tooLarge, unsupportedMediaType } from './errors';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from './protobuf';

/** 3 MiB, as kube-apiserver limits request bodies. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Anchors/aliases a client document may use: enough for real manifests, far too few for a "billion laughs". */
export const MAX_YAML_ALIASES = 100;

export const readRawBody = (req: Request, limit = MAX_BODY_BYTES): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => !failed && resolve(Buffer.concat(chunks)));
    req.on('error', (err) => !failed && reject(badRequest(`reading the request body: ${err.message}`, { cause: err })));
  });

export const mediaType = (contentType: string | undefined): string => (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();

export const parseYaml = (text: string): unknown => {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw badRequest(`error converting YAML to JSON: ${doc.errors[0].message}`);
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    throw badRequest(`error converting YAML to JSON: ${(err as Error).message}`, { cause: err });
  }
};

/** Every document of a multi-document YAML stream (empty documents dropped). */
export const parseYamlStream = (text: string): unknown[] => {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  return list
    .map((doc) => {
      if (doc.errors.length > 0) throw badRequest(`error converting YAML to JSON: ${doc.errors[0].message}`);
      return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
};

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`, { cause: err });
  }
};

const JSON_TYPES = new Set(['application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json']);
const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'application/apply-patch+yaml']);

/** Nesting a client document may use: far beyond any real object, well inside what recursive code can walk. */
export const MAX_NESTING_DEPTH = 100;

/** Refuses documents nested deeper than MAX_NESTING_DEPTH (iteratively, so the check itself cannot overflow). */
const checkDepth = (value: unknown): void => {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_NESTING_DEPTH) throw badRequest(`the document is nested more than ${MAX_NESTING_DEPTH} levels deep`);
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
};

/** Decodes a body by media type; an empty body decodes to undefined. */
export const decodeBody = (raw: Buffer, contentType: string | undefined): unknown => {
  if (raw.length === 0) return undefined;
  const type = mediaType(contentType);
  if (type === PROTOBUF_CONTENT_TYPE) return decodeProtobufObject(raw);
  const text = raw.toString('utf8');
  let value: unknown;
  if (JSON_TYPES.has(type)) value = parseJson(text);
  else if (YAML_TYPES.has(type)) value = parseYaml(text);
  else throw unsupportedMediaType(type);
  checkDepth(value);
  return value;
};

export const readBody = async (req: Request): Promise<unknown> => decodeBody(await readRawBody(req), req.headers['content-type']);
