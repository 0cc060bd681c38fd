/**
 * The little of protobuf's wire format the etcd client needs (etcd-rpc.ts): varints, bytes and nested messages,
 * encoded from field lists and read field by field. Integers are JS numbers: etcd's revisions, counts and limits stay
 * far below 2^53 (larger uint64 fields such as cluster ids lose precision, and nothing reads them).
 */

/** One field to encode: a varint (int64, bool, enum), bytes, or a nested message. */
export type ProtoField = readonly [field: number, value: number | boolean | Uint8Array | readonly ProtoField[]];

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

function varintSize(v: number): number {
  let n = 1;
  for (; v >= 128; n++) v = Math.floor(v / 128);
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  for (; v >= 128; v = Math.floor(v / 128)) buf[pos++] = (v % 128) | 128;
  buf[pos++] = v;
  return pos;
}

const isVarint = (v: ProtoField[1]): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';

function payloadSize(value: ProtoField[1]): number {
  if (isVarint(value)) return varintSize(Number(value));
  const length = value instanceof Uint8Array ? value.length : messageSize(value);
  return varintSize(length) + length;
}

function messageSize(fields: readonly ProtoField[]): number {
  let size = 0;
  for (const [field, value] of fields) size += varintSize(field * 8) + payloadSize(value);
  return size;
}

function writeMessage(buf: Buffer, pos: number, fields: readonly ProtoField[]): number {
  for (const [field, value] of fields) {
    if (isVarint(value)) {
      pos = writeVarint(buf, writeVarint(buf, pos, field * 8 + WIRE_VARINT), Number(value));
    } else if (value instanceof Uint8Array) {
      pos = writeVarint(buf, writeVarint(buf, pos, field * 8 + WIRE_LEN), value.length);
      buf.set(value, pos);
      pos += value.length;
    } else {
      pos = writeVarint(buf, writeVarint(buf, pos, field * 8 + WIRE_LEN), messageSize(value));
      pos = writeMessage(buf, pos, value);
    }
  }
  return pos;
}

/** Encodes `fields` after `headroom` bytes left for the caller (gRPC's 5-byte message prefix). */
export function encodeMessage(fields: readonly ProtoField[], headroom = 0): Buffer {
  const buf = Buffer.allocUnsafe(headroom + messageSize(fields));
  writeMessage(buf, headroom, fields);
  return buf;
}

/**
 * Calls `onField` for every field of the message in `buf[start, end)`: varints with their value, length-delimited
 * fields with their bounds (fixed-width fields, which etcd's messages do not use, are skipped).
 */
export function readFields(
  buf: Buffer,
  start: number,
  end: number,
  onField: (field: number, value: number, from: number, to: number) => void,
): void {
  let pos = start;
  const varint = (): number => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (pos >= end) throw new Error(`protobuf message truncated at byte ${pos}`);
      const byte = buf[pos++];
      value += (byte & 127) * scale;
      if (byte < 128) return value;
    }
  };
  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case WIRE_VARINT:
        onField(field, varint(), 0, 0);
        break;
      case WIRE_LEN: {
        const length = varint();
        if (pos + length > end) throw new Error(`protobuf field ${field} runs past its message (byte ${pos}, length ${length})`);
        onField(field, length, pos, pos + length);
        pos += length;
        break;
      }
      case WIRE_I64:
        pos += 8;
        break;
      case WIRE_I32:
        pos += 4;
        break;
      default:
        throw new Error(`protobuf field ${field} has unsupported wire type ${tag & 7}`);
    }
  }
}
