/** Turning a runtime `Stdio` (fds, file paths, 'null') into spawn() stdio, and closing what was opened. */
import * as fs from 'node:fs';
import type { StdioOptions } from 'node:child_process';
import type { Stdio } from '../types';

export interface OpenedStdio {
  readonly stdio: StdioOptions;
  /** Closes the files opened for the child (the child keeps its own copies). */
  close(): void;
}

export function openStdio(s: Stdio = {}): OpenedStdio {
  const opened: number[] = [];
  const one = (v: number | string | undefined, flags: 'r' | 'a'): number | 'ignore' => {
    if (v === undefined || v === 'null') return 'ignore';
    if (typeof v === 'number') return v;
    const fd = fs.openSync(v, flags);
    opened.push(fd);
    return fd;
  };
  try {
    return {
      stdio: [one(s.stdin, 'r'), one(s.stdout, 'a'), one(s.stderr, 'a')],
      close: () => opened.forEach((fd) => fs.closeSync(fd)),
    };
  } catch (err) {
    opened.forEach((fd) => fs.closeSync(fd));
    throw err;
  }
}
