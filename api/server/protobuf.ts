/**
 * The little protobuf kubectl sends: `kubectl create namespace` posts a v1 Namespace as
 * `application/vnd.kubernetes.protobuf` (the `k8s\0` magic, then a runtime.Unknown wrapping the object).
 * We decode Namespace here and the RBAC kinds through api/authz; any other kind is a 415.
 */
import { ProtobufDecodeError, decodeAuthzProtobuf } from '../authz';
import { badRequest, unsupportedMediaType } from './errors';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  readonly no: number;
  readonly wire: number;
  readonly bytes?: Buffer;
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw badRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw badRequest('protobuf: varint too long');
    }
  }

  *fields(): Generator<Field> {
    while (this.pos < this.buf.length) {
      const tag = this.varint();
      const no = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire === 0) this.varint();
      else if (wire === 1) this.pos += 8;
      else if (wire === 5) this.pos += 4;
      else if (wire === 2) {
        const len = this.varint();
        if (this.pos + len > this.buf.length) throw badRequest('protobuf: truncated field');
        const bytes = this.buf.subarray(this.pos, this.pos + len);
        this.pos += len;
        yield { no, wire, bytes };
        continue;
      } else throw badRequest(`protobuf: unsupported wire type ${wire}`);
      yield { no, wire };
    }
  }
}

const messageFields = (buf: Buffer): Field[] => [...new Reader(buf).fields()];
const str = (f: Field): string => (f.bytes ?? Buffer.alloc(0)).toString('utf8');

const mapEntry = (f: Field): [string, string] => {
  let key = '';
  let value = '';
  for (const e of messageFields(f.bytes ?? Buffer.alloc(0))) {
    if (e.no === 1) key = str(e);
    if (e.no === 2) value = str(e);
  }
  return [key, value];
};

/** A message layout: field number → JSON name and how to read it. */
type FieldKind = 'string' | 'strings' | 'map' | 'bool' | Layout;
interface Layout {
  readonly [no: number]: readonly [string, FieldKind];
}

const OBJECT_META: Layout = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  11: ['labels', 'map'],
  12: ['annotations', 'map'],
  14: ['finalizers', 'strings'],
};

/** Core kinds kubectl sends as protobuf (the RBAC kinds are api/authz's). */
const LAYOUTS: Record<string, Layout> = {
  'v1/Namespace': { 1: ['metadata', OBJECT_META], 2: ['spec', { 1: ['finalizers', 'strings'] }] },
};

const decodeMessage = (buf: Buffer, layout: Layout): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const f of messageFields(buf)) {
    const spec = layout[f.no];
    if (!spec) continue;
    const [name, kind] = spec;
    if (kind === 'string') out[name] = str(f);
    else if (kind === 'strings') out[name] = [...((out[name] as string[] | undefined) ?? []), str(f)];
    else if (kind === 'map') {
      const [k, v] = mapEntry(f);
      out[name] = { ...(out[name] as Record<string, string> | undefined), [k]: v };
    } else if (kind !== 'bool') out[name] = decodeMessage(f.bytes ?? Buffer.alloc(0), kind);
  }
  return out;
};

/** Decodes an enveloped protobuf object into its JSON shape (RBAC kinds and LAYOUTS; anything else is a 415). */
export const decodeProtobufObject = (raw: Buffer): Record<string, unknown> => {
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw badRequest('protobuf: missing the k8s envelope');
  try {
    const rbac = decodeAuthzProtobuf(raw);
    if (rbac) return rbac;
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw badRequest(`protobuf: ${err.message}`, { cause: err });
    throw err;
  }
  let apiVersion = '';
  let kind = '';
  let inner: Buffer | undefined;
  for (const f of messageFields(raw.subarray(MAGIC.length))) {
    if (f.no === 1) {
      for (const t of messageFields(f.bytes ?? Buffer.alloc(0))) {
        if (t.no === 1) apiVersion = str(t);
        if (t.no === 2) kind = str(t);
      }
    } else if (f.no === 2) inner = f.bytes;
  }
  const layout = LAYOUTS[`${apiVersion}/${kind}`];
  if (!layout || !inner) throw unsupportedMediaType(`${PROTOBUF_CONTENT_TYPE} (${apiVersion} ${kind})`);
  return { apiVersion, kind, metadata: {}, ...decodeMessage(inner, layout) };
};
