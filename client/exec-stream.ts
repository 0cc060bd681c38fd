/**
 * The framing of an exec session between `berth exec`, the API server and the node agent: one full-duplex HTTP
 * stream carrying frames `[channel:u8][length:u32be][payload]`, channels numbered as Kubernetes' remotecommand
 * protocol numbers its websocket channels.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const ExecChannel = {
  Stdin: 0,
  Stdout: 1,
  Stderr: 2,
  /** Agent → client, last frame: JSON `{ exitCode, signal? }` or `{ error }`. */
  Status: 3,
  /** Client → agent: JSON `{ width, height }` of the terminal; with `tty=true` also the first frame of the session. */
  Resize: 4,
  /** Client → agent: no more stdin. */
  CloseStdin: 5,
} as const;
export type ExecChannel = (typeof ExecChannel)[keyof typeof ExecChannel];

export interface ExecFrame {
  readonly channel: ExecChannel;
  readonly payload: Buffer;
}

export const EXEC_CONTENT_TYPE = 'application/vnd.berth.exec-frames';

/** A terminal's size in character cells (the Resize channel's JSON; a tty session's first client frame). */
export interface TerminalSize {
  readonly width: number;
  readonly height: number;
}

/** The size a Resize frame carries; undefined for a payload that is not one (ignored, like a bad resize in kubelet). */
export function parseResize(payload: Buffer): TerminalSize | undefined {
  try {
    const { width, height } = JSON.parse(payload.toString('utf8')) as Partial<TerminalSize>;
    const isCells = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
    return isCells(width) && isCells(height) ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

export function encodeResize(size: TerminalSize): Buffer {
  return encodeFrame(ExecChannel.Resize, JSON.stringify({ width: size.width, height: size.height }));
}

export function encodeFrame(channel: ExecChannel, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(5);
  head.writeUInt8(channel, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames (an object-mode readable of ExecFrame). */
export class FrameDecoder extends Transform {
  private pending = Buffer.alloc(0);

  constructor() {
    super({ readableObjectMode: true });
  }

  _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + length) break;
      this.push({ channel: this.pending.readUInt8(0) as ExecChannel, payload: this.pending.subarray(5, 5 + length) } satisfies ExecFrame);
      this.pending = this.pending.subarray(5 + length);
    }
    done();
  }
}
