/**
 * The little protobuf kubectl sends: `kubectl create namespace` posts a v1 Namespace as
 * `application/vnd.kubernetes.protobuf` (the `k8s\0` magic, then a runtime.Unknown wrapping the object).
 * We decode a Namespace's name, generateName, labels, annotations and finalizers; any other kind is a 415.
 */
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

const decodeObjectMeta = (buf: Buffer): Record<string, unknown> => {
  const meta: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const finalizers: string[] = [];
  for (const f of messageFields(buf)) {
    if (f.no === 1) meta.name = str(f);
    else if (f.no === 2) meta.generateName = str(f);
    else if (f.no === 3) meta.namespace = str(f);
    else if (f.no === 11) labels[mapEntry(f)[0]] = mapEntry(f)[1];
    else if (f.no === 12) annotations[mapEntry(f)[0]] = mapEntry(f)[1];
    else if (f.no === 14) finalizers.push(str(f));
  }
  if (Object.keys(labels).length) meta.labels = labels;
  if (Object.keys(annotations).length) meta.annotations = annotations;
  if (finalizers.length) meta.finalizers = finalizers;
  for (const k of ['name', 'generateName', 'namespace']) if (meta[k] === '') delete meta[k];
  return meta;
};

/** Decodes an enveloped protobuf object into its JSON shape (Namespace only). */
export const decodeProtobufObject = (raw: Buffer): Record<string, unknown> => {
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw badRequest('protobuf: missing the k8s envelope');
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
  if (apiVersion !== 'v1' || kind !== 'Namespace' || !inner) throw unsupportedMediaType(`${PROTOBUF_CONTENT_TYPE} (${apiVersion} ${kind})`);
  const obj: Record<string, unknown> = { apiVersion, kind, metadata: {} };
  for (const f of messageFields(inner)) if (f.no === 1) obj.metadata = decodeObjectMeta(f.bytes ?? Buffer.alloc(0));
  return obj;
};
