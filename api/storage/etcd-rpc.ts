/**
 * The etcd v3 KV calls EtcdStorage makes (Range, Txn, Compact), encoded by hand from etcd's rpc.proto/kv.proto
 * (field numbers below) and sent over grpc.ts. Only the fields Berth uses are written or read.
 */
import { GRPC_HEADROOM, GrpcConnection } from './grpc';
import { ProtoField, encodeMessage, readFields } from './protobuf';

/** Key and value as text (UTF-8): Berth stores JSON under string keys, and decoding once saves a Buffer per field. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
}

export interface RangeRequest {
  readonly key: Buffer;
  readonly rangeEnd?: Buffer;
  readonly limit?: number;
  readonly revision?: number;
  readonly countOnly?: boolean;
}

export interface RangeResponse {
  /** The store's revision when etcd answered (the header's). */
  readonly revision: number;
  readonly kvs: KeyValue[];
  readonly more: boolean;
}

export type RequestOp = { readonly put: { key: Buffer; value: Buffer } } | { readonly deleteRange: { key: Buffer } } | { readonly range: RangeRequest };

export interface TxnRequest {
  /** The transaction succeeds if this key's mod_revision equals `modRevision` (0: the key is absent). */
  readonly compare: { readonly key: Buffer; readonly modRevision: number };
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export interface TxnResponse {
  readonly revision: number;
  readonly succeeded: boolean;
  /** One per op of the branch that ran; `range` set for range ops. */
  readonly responses: { range?: RangeResponse }[];
}

export const rangeFields = (r: RangeRequest): ProtoField[] => {
  const fields: ProtoField[] = [[1, r.key]];
  if (r.rangeEnd) fields.push([2, r.rangeEnd]);
  if (r.limit) fields.push([3, r.limit]);
  if (r.revision) fields.push([4, r.revision]);
  if (r.countOnly) fields.push([9, true]);
  return fields;
};

const opFields = (op: RequestOp): ProtoField =>
  'put' in op
    ? [2, [[1, op.put.key], [2, op.put.value]]]
    : 'deleteRange' in op
      ? [3, [[1, op.deleteRange.key]]]
      : [1, rangeFields(op.range)];

/** ResponseHeader.revision (field 3) of the header at buf[from, to). */
export function headerRevision(buf: Buffer, from: number, to: number): number {
  let revision = 0;
  readFields(buf, from, to, (field, value) => {
    if (field === 3) revision = value;
  });
  return revision;
}

export function decodeKeyValue(buf: Buffer, from: number, to: number): KeyValue {
  let key = '';
  let value = '';
  let createRevision = 0;
  let modRevision = 0;
  readFields(buf, from, to, (field, v, start, end) => {
    if (field === 1) key = buf.toString('utf8', start, end);
    else if (field === 2) createRevision = v;
    else if (field === 3) modRevision = v;
    else if (field === 5) value = buf.toString('utf8', start, end);
  });
  return { key, value, createRevision, modRevision };
}

function decodeRange(buf: Buffer, from: number, to: number): RangeResponse {
  let revision = 0;
  let more = false;
  const kvs: KeyValue[] = [];
  readFields(buf, from, to, (field, v, start, end) => {
    if (field === 1) revision = headerRevision(buf, start, end);
    else if (field === 2) kvs.push(decodeKeyValue(buf, start, end));
    else if (field === 3) more = v !== 0;
  });
  return { revision, kvs, more };
}

function decodeTxn(buf: Buffer): TxnResponse {
  let revision = 0;
  let succeeded = false;
  const responses: { range?: RangeResponse }[] = [];
  readFields(buf, 0, buf.length, (field, v, start, end) => {
    if (field === 1) revision = headerRevision(buf, start, end);
    else if (field === 2) succeeded = v !== 0;
    else if (field === 3) {
      const response: { range?: RangeResponse } = {};
      readFields(buf, start, end, (op, _v, opStart, opEnd) => {
        if (op === 1) response.range = decodeRange(buf, opStart, opEnd);
      });
      responses.push(response);
    }
  });
  return { revision, succeeded, responses };
}

export class EtcdKv {
  constructor(private readonly connection: GrpcConnection) {}

  async range(req: RangeRequest): Promise<RangeResponse> {
    const res = await this.connection.unary('/etcdserverpb.KV/Range', encodeMessage(rangeFields(req), GRPC_HEADROOM));
    return decodeRange(res, 0, res.length);
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    // Compare: result EQUAL (0, the default), target MOD (2), key, mod_revision.
    const fields: ProtoField[] = [[1, [[2, 2], [3, req.compare.key], [6, req.compare.modRevision]]]];
    for (const op of req.success) fields.push([2, [opFields(op)]]);
    for (const op of req.failure) fields.push([3, [opFields(op)]]);
    return decodeTxn(await this.connection.unary('/etcdserverpb.KV/Txn', encodeMessage(fields, GRPC_HEADROOM)));
  }

  async compact(revision: number): Promise<void> {
    await this.connection.unary('/etcdserverpb.KV/Compact', encodeMessage([[1, revision], [2, true]], GRPC_HEADROOM));
  }
}
