/**
 * kubectl sends built-in kinds as protobuf (`application/vnd.kubernetes.protobuf`): `kubectl create role|rolebinding|
 * clusterrole|clusterrolebinding`, `kubectl auth can-i` (SelfSubjectAccessReview) and `kubectl create token`
 * (TokenRequest) among them. This decodes those kinds into their JSON shape, driven by field tables transcribed from
 * k8s.io/api rbac/v1, authorization/v1 and authentication/v1 `generated.proto`. Only the fields Berth uses are listed; others are skipped (proto3 semantics).
 *
 * Envelope: the magic `k8s\0`, then a runtime.Unknown {1: typeMeta {1: apiVersion, 2: kind}, 2: raw}.
 */

const MAGIC = Buffer.from('k8s\0', 'latin1');

/** A field table: protobuf field number → JSON name and how to read it. */
type Shape = { readonly [no: number]: readonly [name: string, type: FieldType] };
type FieldType =
  | 'string'
  | 'int' // varint (int32/int64)
  | 'strings' // repeated string
  | 'stringMap' // map<string,string>
  | { readonly message: Shape }
  | { readonly messages: Shape }; // repeated message

const OBJECT_META: Shape = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  11: ['labels', 'stringMap'],
  12: ['annotations', 'stringMap'],
};
const POLICY_RULE: Shape = {
  1: ['verbs', 'strings'],
  2: ['apiGroups', 'strings'],
  3: ['resources', 'strings'],
  4: ['resourceNames', 'strings'],
  5: ['nonResourceURLs', 'strings'],
};
const LABEL_SELECTOR: Shape = {
  1: ['matchLabels', 'stringMap'],
  2: ['matchExpressions', { messages: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] } }],
};
const SUBJECT: Shape = { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] };
const ROLE_REF: Shape = { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] };
const ROLE: Shape = { 1: ['metadata', { message: OBJECT_META }], 2: ['rules', { messages: POLICY_RULE }] };
const CLUSTER_ROLE: Shape = {
  ...ROLE,
  3: ['aggregationRule', { message: { 1: ['clusterRoleSelectors', { messages: LABEL_SELECTOR }] } }],
};
const BINDING: Shape = {
  1: ['metadata', { message: OBJECT_META }],
  2: ['subjects', { messages: SUBJECT }],
  3: ['roleRef', { message: ROLE_REF }],
};
const RESOURCE_ATTRIBUTES: Shape = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
};
const NON_RESOURCE_ATTRIBUTES: Shape = { 1: ['path', 'string'], 2: ['verb', 'string'] };
const SELF_REVIEW_SPEC: Shape = {
  1: ['resourceAttributes', { message: RESOURCE_ATTRIBUTES }],
  2: ['nonResourceAttributes', { message: NON_RESOURCE_ATTRIBUTES }],
};
const REVIEW_SPEC: Shape = { ...SELF_REVIEW_SPEC, 3: ['user', 'string'], 4: ['groups', 'strings'], 6: ['uid', 'string'] };

const TOKEN_REQUEST_SPEC: Shape = { 1: ['audiences', 'strings'], 4: ['expirationSeconds', 'int'] };

const KINDS: Readonly<Record<string, Shape>> = {
  'authentication.k8s.io/v1 TokenRequest': { 1: ['metadata', { message: OBJECT_META }], 2: ['spec', { message: TOKEN_REQUEST_SPEC }] },
  'rbac.authorization.k8s.io/v1 Role': ROLE,
  'rbac.authorization.k8s.io/v1 ClusterRole': CLUSTER_ROLE,
  'rbac.authorization.k8s.io/v1 RoleBinding': BINDING,
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': BINDING,
  'authorization.k8s.io/v1 SelfSubjectAccessReview': { 1: ['metadata', { message: OBJECT_META }], 2: ['spec', { message: SELF_REVIEW_SPEC }] },
  'authorization.k8s.io/v1 SubjectAccessReview': { 1: ['metadata', { message: OBJECT_META }], 2: ['spec', { message: REVIEW_SPEC }] },
  'authorization.k8s.io/v1 SelfSubjectRulesReview': { 1: ['metadata', { message: OBJECT_META }], 2: ['spec', { message: { 1: ['namespace', 'string'] } }] },
};

export class ProtobufDecodeError extends Error {
  constructor(message: string) {
    super(`protobuf: ${message}`);
    this.name = 'ProtobufDecodeError';
  }
}

/**
 * Decodes an enveloped protobuf body of one of the kinds above into JSON. Returns undefined when the envelope names
 * another kind (the caller's own decoders may know it); throws ProtobufDecodeError (a 400) on malformed bytes.
 */
export function decodeAuthzProtobuf(body: Buffer): Record<string, unknown> | undefined {
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) throw new ProtobufDecodeError('missing the k8s envelope');
  const unknown = decodeMessage(body.subarray(MAGIC.length), {
    1: ['typeMeta', { message: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] } }],
  });
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const shape = KINDS[`${typeMeta.apiVersion} ${typeMeta.kind}`];
  if (!shape) return undefined;
  const raw = rawField(body.subarray(MAGIC.length), 2) ?? Buffer.alloc(0);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, metadata: {}, ...decodeMessage(raw, shape) };
}

/** One wire-format field: its number and its bytes (length-delimited) or value (varint). */
interface WireField {
  readonly no: number;
  readonly bytes?: Buffer;
  readonly value?: number;
}

function* wireFields(buf: Buffer): Generator<WireField> {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= buf.length || shift > 49) throw new ProtobufDecodeError('truncated or oversized varint');
      const byte = buf[pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        yield { no, value: varint() };
        break;
      case 1:
        pos += 8;
        yield { no };
        break;
      case 5:
        pos += 4;
        yield { no };
        break;
      case 2: {
        const length = varint();
        if (pos + length > buf.length) throw new ProtobufDecodeError(`field ${no} runs past the end`);
        yield { no, bytes: buf.subarray(pos, pos + length) };
        pos += length;
        break;
      }
      default:
        throw new ProtobufDecodeError(`unsupported wire type ${key & 7}`);
    }
    if (pos > buf.length) throw new ProtobufDecodeError('truncated fixed-width field');
  }
}

function rawField(buf: Buffer, no: number): Buffer | undefined {
  for (const f of wireFields(buf)) if (f.no === no) return f.bytes;
  return undefined;
}

function decodeMessage(buf: Buffer, shape: Shape): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of wireFields(buf)) {
    const spec = shape[field.no];
    if (!spec) continue;
    const [name, type] = spec;
    if (type === 'int') {
      if (field.value !== undefined) out[name] = field.value;
      continue;
    }
    const bytes = field.bytes;
    if (bytes === undefined) continue;
    if (type === 'string') {
      // Go's encoder writes empty optional strings; JSON omits them (omitempty), and so do we.
      if (bytes.length > 0) out[name] = bytes.toString('utf8');
    } else if (type === 'strings') {
      ((out[name] ??= []) as string[]).push(bytes.toString('utf8'));
    } else if (type === 'stringMap') {
      const entry = decodeMessage(bytes, { 1: ['key', 'string'], 2: ['value', 'string'] });
      ((out[name] ??= {}) as Record<string, string>)[String(entry.key ?? '')] = String(entry.value ?? '');
    } else if ('message' in type) {
      out[name] = decodeMessage(bytes, type.message);
    } else {
      ((out[name] ??= []) as unknown[]).push(decodeMessage(bytes, type.messages));
    }
  }
  return out;
}
