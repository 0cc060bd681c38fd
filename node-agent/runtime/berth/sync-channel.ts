/**
 * The agent's end of the shim/init sync socket (native/src/sync.h), watched on Node's event loop: no thread is
 * parked while a container sets up. Messages are fixed 508-byte records: int32 type, int32 value, char msg[500].
 */
import * as net from 'node:net';
import * as os from 'node:os';
import { NativeError, SyncMessage } from '../native';

const MESSAGE_SIZE = 508;
const NAMES: Record<number, string> = Object.fromEntries(Object.entries(SyncMessage).map(([k, v]) => [v, k]));

interface Message {
  readonly type: number;
  readonly value: number;
  readonly text: string;
}

export class SyncChannel {
  private readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private readonly queue: Message[] = [];
  private ended = false;
  private waiter?: () => void;

  /** Takes ownership of `fd` (closed by `close`). */
  constructor(fd: number) {
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= MESSAGE_SIZE) {
        const m = this.buffered.subarray(0, MESSAGE_SIZE);
        const end = m.indexOf(0, 8);
        const read = os.endianness() === 'LE' ? 'readInt32LE' : 'readInt32BE';
        this.queue.push({ type: m[read](0), value: m[read](4), text: m.toString('utf8', 8, end < 0 ? MESSAGE_SIZE : end) });
        this.buffered = this.buffered.subarray(MESSAGE_SIZE);
      }
      this.waiter?.();
    });
    const finish = () => {
      this.ended = true;
      this.waiter?.();
    };
    this.socket.on('end', finish);
    this.socket.on('close', finish);
    this.socket.on('error', finish);
  }

  /** Resolves with the value of the next message if it is `type`; rejects (NativeError) on SYNC_ERROR, another
   *  type, EOF or timeout. */
  expect(type: SyncMessage, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        settle();
      }, timeoutMs);
      const settle = () => {
        const m = this.queue.shift();
        if (!m && !this.ended && !timedOut) return; // keep waiting
        clearTimeout(timer);
        this.waiter = undefined;
        if (!m) reject(new NativeError(`sync: ${timedOut ? 'timed out' : 'peer exited'} waiting for ${NAMES[type]}`, timedOut ? 110 : 32));
        else if (m.type === SyncMessage.ERROR) reject(new NativeError(m.text, m.value));
        else if (m.type !== type) reject(new NativeError(`sync: got ${NAMES[m.type] ?? m.type} waiting for ${NAMES[type]}`, 71));
        else resolve(m.value);
      };
      this.waiter = settle;
      settle();
    });
  }

  /** Closes the socket; resolves once its fd is closed. */
  close(): Promise<void> {
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.destroy().once('close', () => resolve()));
  }
}
