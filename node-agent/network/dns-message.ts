/**
 * The part of the DNS wire format (RFC 1035 §4) the embedded server needs: parse one question, build an
 * authoritative answer with A records. Pure.
 */

export const TYPE_A = 1;
export const CLASS_IN = 1;
const HEADER_BYTES = 12;

export const RCODE = { noError: 0, formatError: 1, serverFailure: 2, nameError: 3, notImplemented: 4, refused: 5 } as const;

export interface DnsQuestion {
  readonly id: number;
  /** Opcode, RD bit and the rest of the flags, echoed in the answer. */
  readonly flags: number;
  /** Lower-cased, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
  /** The question section as received, echoed in the answer. */
  readonly questionBytes: Buffer;
}

export class DnsFormatError extends Error {
  constructor(
    message: string,
    /** The query id when the header could be read, so a FORMERR can still be sent. */
    readonly id?: number,
  ) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

/** Parses a query with exactly one question (what every stub resolver sends). */
export function parseQuery(packet: Buffer): DnsQuestion {
  if (packet.length < HEADER_BYTES) throw new DnsFormatError(`query of ${packet.length} bytes is shorter than a header`);
  const id = packet.readUInt16BE(0);
  const flags = packet.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('packet is a response, not a query', id);
  if (packet.readUInt16BE(4) !== 1) throw new DnsFormatError(`query has ${packet.readUInt16BE(4)} questions, want 1`, id);
  const labels: string[] = [];
  let offset = HEADER_BYTES;
  for (;;) {
    if (offset >= packet.length) throw new DnsFormatError('question name runs past the end', id);
    const length = packet[offset];
    if (length === 0) break;
    // Compression pointers (0xC0) are not expected in a question that starts at offset 12.
    if (length > 63) throw new DnsFormatError(`label length ${length} in question`, id);
    labels.push(packet.toString('latin1', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  offset += 1;
  if (offset + 4 > packet.length) throw new DnsFormatError('question type and class run past the end', id);
  return {
    id,
    flags,
    name: labels.join('.').toLowerCase(),
    type: packet.readUInt16BE(offset),
    class: packet.readUInt16BE(offset + 2),
    questionBytes: packet.subarray(HEADER_BYTES, offset + 4),
  };
}

/** An authoritative response to `question` with `addresses` as A records (none for NXDOMAIN or NODATA). */
export function buildResponse(question: DnsQuestion, rcode: number, addresses: readonly string[] = [], ttlSeconds = 0): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(question.id, 0);
  const opcodeAndRd = question.flags & 0x7900; // opcode (bits 11-14) and RD (bit 8)
  header.writeUInt16BE(0x8000 | opcodeAndRd | 0x0400 | (rcode & 0xf), 2); // QR, AA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const answers = addresses.map((address) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc000 | HEADER_BYTES, 0); // name: pointer to the question's name
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(ttlSeconds, 6);
    record.writeUInt16BE(4, 10);
    address.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
    return record;
  });
  return Buffer.concat([header, question.questionBytes, ...answers]);
}

/** A bare error response (FORMERR) for a query whose question could not be read. */
export function buildFormatError(id: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | RCODE.formatError, 2);
  return header;
}

/** A query for `name` and `type`, as a stub resolver sends it (used by tests and the benchmark). */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const labels = name.split('.').filter(Boolean).map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(CLASS_IN, 3);
  return Buffer.concat([header, ...labels, tail]);
}

/** The A-record addresses of a response (answers with a compressed name, as `buildResponse` writes them). */
export function parseResponseAddresses(packet: Buffer): { readonly rcode: number; readonly addresses: string[] } {
  const rcode = packet.readUInt16BE(2) & 0xf;
  const answerCount = packet.readUInt16BE(6);
  let offset = HEADER_BYTES;
  while (packet[offset] !== 0) offset += 1 + packet[offset];
  offset += 5;
  const addresses: string[] = [];
  for (let i = 0; i < answerCount; i++) {
    const length = packet.readUInt16BE(offset + 10);
    if (packet.readUInt16BE(offset + 2) === TYPE_A) addresses.push([...packet.subarray(offset + 12, offset + 16)].join('.'));
    offset += 12 + length;
  }
  return { rcode, addresses };
}
