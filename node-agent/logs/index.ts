export { formatLine, parseLine, nowNano } from './format';
export type { LogLine, LogStream } from './format';
export { LogWriter } from './writer';
export type { LogWriterOptions } from './writer';
export { readLog } from './reader';
export type { ReadLogOptions } from './reader';
