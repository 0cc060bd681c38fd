/**
 * Container log lines in the CRI format kubelet writes (`<RFC3339Nano> <stream> <P|F> <text>`), so the files are
 * readable by the tools people already have. P marks a partial line (a chunk cut before its newline).
 */
export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  readonly time: string;
  readonly stream: LogStream;
  readonly partial: boolean;
  readonly text: string;
}

export function formatLine(line: LogLine): string {
  return `${line.time} ${line.stream} ${line.partial ? 'P' : 'F'} ${line.text}\n`;
}

/** Parses one line of a log file (without its newline); undefined for a line that is not in the format. */
export function parseLine(raw: string): LogLine | undefined {
  const a = raw.indexOf(' ');
  const b = raw.indexOf(' ', a + 1);
  const c = raw.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const stream = raw.slice(a + 1, b);
  const tag = raw.slice(b + 1, c);
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 'P' && tag !== 'F')) return undefined;
  return { time: raw.slice(0, a), stream, partial: tag === 'P', text: raw.slice(c + 1) };
}

/** ISO time with nanosecond digits, as CRI logs carry (Date only has milliseconds; the rest is padding). */
export function nowNano(now = new Date()): string {
  return now.toISOString().replace('Z', '000000Z');
}
