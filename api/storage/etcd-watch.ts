/**
 * One etcd watch: a stream of etcd's Watch service carrying one watch (WatchRequest/WatchResponse of rpc.proto,
 * encoded by hand like etcd-rpc.ts). A stream lost with its connection (etcd restarted) is opened again, after a
 * growing delay, from the revision the owner says it has (`resumeRevision`); etcd cancelling the watch ends it.
 */
import * as http2 from 'node:http2';
import { KeyValue, decodeKeyValue } from './etcd-rpc';
import { GRPC_HEADROOM, GrpcConnection, GrpcError, MessageReader, frame, statusOf } from './grpc';
import { ProtoField, encodeMessage, readFields } from './protobuf';

export interface EtcdEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export interface EtcdWatchSpec {
  readonly key: Buffer;
  /** Watch [key, rangeEnd) instead of the one key. */
  readonly rangeEnd?: Buffer;
  /** Ask etcd for each event's previous key-value too. */
  readonly prevKv?: boolean;
}

export interface EtcdWatchHandlers {
  /** The events of one response, in revision order. */
  onEvents(events: EtcdEvent[]): void;
  /** etcd ended the watch after it was created; `compactRevision` > 0 when the revisions it needed were compacted. */
  onCanceled(reason: string, compactRevision: number): void;
  /** The first revision a watch opened again after a lost connection must deliver. */
  resumeRevision(): number;
}

const WATCH = '/etcdserverpb.Watch/Watch';
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

interface WatchResponse {
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compactRevision: number;
  readonly cancelReason: string;
  readonly events: EtcdEvent[];
}

function decodeEvent(buf: Buffer, from: number, to: number): EtcdEvent {
  let type: EtcdEvent['type'] = 'put';
  let kv: KeyValue | undefined;
  let prevKv: KeyValue | undefined;
  readFields(buf, from, to, (field, value, start, end) => {
    if (field === 1) type = value === 1 ? 'delete' : 'put';
    else if (field === 2) kv = decodeKeyValue(buf, start, end);
    else if (field === 3) prevKv = decodeKeyValue(buf, start, end);
  });
  if (!kv) throw new GrpcError(13, `${WATCH}: event without a key-value`);
  return { type, kv, prevKv };
}

function decodeWatchResponse(buf: Buffer): WatchResponse {
  let created = false;
  let canceled = false;
  let compactRevision = 0;
  let cancelReason = '';
  const events: EtcdEvent[] = [];
  readFields(buf, 0, buf.length, (field, value, start, end) => {
    if (field === 3) created = value !== 0;
    else if (field === 4) canceled = value !== 0;
    else if (field === 5) compactRevision = value;
    else if (field === 6) cancelReason = buf.toString('utf8', start, end);
    else if (field === 11) events.push(decodeEvent(buf, start, end));
  });
  return { created, canceled, compactRevision, cancelReason, events };
}

export class EtcdWatch {
  private stream?: http2.ClientHttp2Stream;
  private stopped = false;
  /** etcd created the watch once: from then on a lost stream is opened again, and a cancel is reported. */
  private established = false;
  private retryMs = RETRY_FIRST_MS;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly connection: GrpcConnection,
    private readonly spec: EtcdWatchSpec,
    private readonly handlers: EtcdWatchHandlers,
  ) {}

  /** Resolves once etcd created the watch, delivering from `startRevision`; rejects if it could not (no retry). */
  start(startRevision: number): Promise<void> {
    return new Promise((resolve, reject) => this.open(startRevision, resolve, reject));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stream?.close(http2.constants.NGHTTP2_CANCEL); // etcd drops a watch whose stream is cancelled
  }

  private open(startRevision: number, onCreated: () => void, onFailed: (err: Error) => void): void {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.connection.stream(WATCH);
    } catch (err) {
      onFailed(err as Error);
      return;
    }
    this.stream = stream;
    const reader = new MessageReader();
    let created = false;
    let ended: Error | undefined; // why the stream ends, once known
    const end = (err: Error): void => {
      ended ??= err;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    stream.on('response', (headers) => {
      const status = statusOf(WATCH, headers);
      if (status instanceof GrpcError) ended ??= status;
    });
    stream.on('trailers', (trailers) => {
      const status = statusOf(WATCH, trailers);
      ended ??= status instanceof GrpcError ? status : new GrpcError(14, `${WATCH}: etcd ended the stream`);
    });
    stream.on('data', (chunk: Buffer) => {
      if (this.stopped || ended) return;
      let responses: WatchResponse[];
      try {
        responses = reader.push(chunk).map(decodeWatchResponse);
      } catch (err) {
        end(err as Error);
        return;
      }
      for (const response of responses) {
        if (response.canceled) {
          this.stopped = true;
          end(new GrpcError(1, `${WATCH}: etcd canceled the watch${response.cancelReason ? `: ${response.cancelReason}` : ''}`));
          if (this.established) this.handlers.onCanceled(response.cancelReason, response.compactRevision);
          return;
        }
        if (response.created && !created) {
          created = this.established = true;
          this.retryMs = RETRY_FIRST_MS;
          onCreated();
        }
        if (response.events.length > 0) this.handlers.onEvents(response.events);
      }
    });
    stream.on('error', (err) => (ended ??= err));
    stream.on('close', () => {
      if (this.stream === stream) this.stream = undefined;
      const why = ended ?? new GrpcError(14, `${WATCH}: stream closed (code ${stream.rstCode})`);
      if (!created) onFailed(why);
      else if (!this.stopped) this.reopen();
    });
    const create: ProtoField[] = [[1, this.spec.key], [3, startRevision]];
    if (this.spec.rangeEnd) create.push([2, this.spec.rangeEnd]);
    if (this.spec.prevKv) create.push([6, true]);
    stream.write(frame(encodeMessage([[1, create]], GRPC_HEADROOM)));
  }

  /** The stream was lost (not canceled): open it again from where the owner is, retrying with a growing delay. */
  private reopen(): void {
    this.retryTimer = setTimeout(() => {
      if (this.stopped) return;
      this.open(this.handlers.resumeRevision(), () => undefined, () => this.reopen());
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}
