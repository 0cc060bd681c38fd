import { MessageReader, frame } from '../../../api/storage/grpc';
import { encodeMessage, readFields } from '../../../api/storage/protobuf';

type Read = [field: number, value: number | string];

const readAll = (buf: Buffer, from = 0, to = buf.length): Read[] => {
  const out: Read[] = [];
  readFields(buf, from, to, (field, value, start, end) => out.push([field, end > start ? buf.toString('utf8', start, end) : value]));
  return out;
};

describe('protobuf wire format (etcd client)', () => {
  it('writes varints of every width, bytes and nested messages as protoc does', () => {
    // Field 1 varint 150 is the protobuf documentation's example: 08 96 01.
    expect(encodeMessage([[1, 150]]).toString('hex')).toBe('089601');
    // Field 2 bytes "testing": 12 07 74 65 73 74 69 6e 67; nested message field 3 holding it: 1a 09 ...
    expect(encodeMessage([[3, [[2, Buffer.from('testing')]]]]).toString('hex')).toBe('1a09120774657374696e67');
    const revision = 2 ** 40 + 12345; // etcd revisions are int64: beyond 32 bits must survive
    const buf = encodeMessage([[1, Buffer.from('/registry/a')], [4, revision], [9, true], [2, [[6, 0]]]]);
    const fields: Read[] = [];
    readFields(buf, 0, buf.length, (field, value, start, end) =>
      fields.push([field, field === 2 ? JSON.stringify(readAll(buf, start, end)) : end > start ? buf.toString('utf8', start, end) : value]),
    );
    expect(fields).toEqual([[1, '/registry/a'], [4, revision], [9, 1], [2, JSON.stringify([[6, 0]])]]);
  });

  it('refuses a truncated message instead of reading past it', () => {
    const buf = encodeMessage([[1, Buffer.from('abcdef')]]);
    expect(() => readFields(buf, 0, buf.length - 1, () => undefined)).toThrow(/runs past/);
    expect(() => readFields(Buffer.from([0x08, 0x96]), 0, 2, () => undefined)).toThrow(/truncated/);
  });

  it('splits gRPC framed messages however the bytes are chunked', () => {
    const messages = ['a', 'x'.repeat(70_000), '', 'last'].map((text) => frame(encodeMessage([[1, Buffer.from(text)]], 5)));
    const stream = Buffer.concat(messages);
    for (const chunkSize of [1, 3, 4096, stream.length]) {
      const reader = new MessageReader();
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length; at += chunkSize) got.push(...reader.push(stream.subarray(at, at + chunkSize)));
      expect(got.map((m) => readAll(m)[0][1])).toEqual(['a', 'x'.repeat(70_000), 0, 'last']); // empty bytes read as length 0
    }
  });
});
