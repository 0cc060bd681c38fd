import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatLine, LogStream, nowNano } from './format';

export interface LogWriterOptions {
  /** Rotate the current file once it passes this size. */
  readonly maxBytes?: number;
  /** Rotated files kept besides the current one. */
  readonly maxFiles?: number;
  /** A line longer than this is split into partial (P) records. */
  readonly maxLineBytes?: number;
  readonly clock?: () => Date;
}

/**
 * Appends one container run's output to `<file>` as CRI log lines, rotating to `<file>.1 … <file>.N` by size.
 * Bytes are buffered only up to a newline (or maxLineBytes), so a crash loses at most one unfinished line.
 */
export class LogWriter {
  private fd: number;
  private size: number;
  private readonly pending: Record<LogStream, string> = { stdout: '', stderr: '' };
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly maxLineBytes: number;
  private readonly clock: () => Date;

  constructor(
    readonly file: string,
    opts: LogWriterOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 10 * 2 ** 20;
    this.maxFiles = opts.maxFiles ?? 3;
    this.maxLineBytes = opts.maxLineBytes ?? 16 * 1024;
    this.clock = opts.clock ?? (() => new Date());
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a', 0o640);
    this.size = fs.fstatSync(this.fd).size;
  }

  write(stream: LogStream, chunk: Buffer | string): void {
    let text = this.pending[stream] + chunk.toString();
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.appendLine(stream, text.slice(0, nl));
      text = text.slice(nl + 1);
    }
    while (text.length > this.maxLineBytes) {
      this.append(stream, text.slice(0, this.maxLineBytes), true);
      text = text.slice(this.maxLineBytes);
    }
    this.pending[stream] = text;
  }

  /** Writes any unfinished line as partial and closes the file. */
  close(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream]) this.append(stream, this.pending[stream], true);
      this.pending[stream] = '';
    }
    fs.closeSync(this.fd);
  }

  private appendLine(stream: LogStream, line: string): void {
    for (; line.length > this.maxLineBytes; line = line.slice(this.maxLineBytes)) {
      this.append(stream, line.slice(0, this.maxLineBytes), true);
    }
    this.append(stream, line, false);
  }

  private append(stream: LogStream, text: string, partial: boolean): void {
    const record = formatLine({ time: nowNano(this.clock()), stream, partial, text });
    if (this.size > 0 && this.size + Buffer.byteLength(record) > this.maxBytes) this.rotate();
    this.size += fs.writeSync(this.fd, record);
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    for (let i = this.maxFiles; i >= 1; i--) {
      const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
      if (fs.existsSync(from)) fs.renameSync(from, `${this.file}.${i}`);
    }
    this.fd = fs.openSync(this.file, 'a', 0o640);
    this.size = 0;
  }
}
