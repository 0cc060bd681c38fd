/**
 * The agent's side of berth-proxy (native/src/relay.c), the one process that carries every published port's
 * traffic: started with the first ServiceProxy, ended (stdin closed) a moment after the last one. If it dies, it is
 * started again and every proxy replays its state (options, listening, rotation) onto it.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeBuildDir } from '../runtime/native';
import { FromRelay, parseLine } from './protocol';

/** A ServiceProxy as the relay sees it. */
export interface RelayClient {
  /** The command lines that rebuild this proxy's state in a fresh process. */
  replay(): string[];
  receive(m: FromRelay): void;
}

/** The least time between two starts of a process that keeps dying. */
const RESTART_MS = 1000;
/** How long the process outlives its last proxy: a port closed and opened again (a Service updated) reuses it. */
const LINGER_MS = 1000;

class ProxyRelay {
  private child?: ChildProcessWithoutNullStreams;
  private readonly clients = new Map<number, RelayClient>();
  private nextId = 1;
  private linger?: NodeJS.Timeout;
  /** A restart is due: commands meanwhile are dropped, the restart replays every proxy's state. */
  private restarting = false;
  private binary?: string;

  add(client: RelayClient): number {
    this.binary ??= relayBinary();
    const id = this.nextId++;
    this.clients.set(id, client);
    clearTimeout(this.linger);
    if (!this.child && !this.restarting) this.start();
    return id;
  }

  remove(id: number): void {
    this.clients.delete(id);
    if (this.clients.size > 0 || !this.child) return;
    clearTimeout(this.linger);
    this.linger = setTimeout(() => {
      const child = this.child;
      this.child = undefined;
      child?.stdin.end(); // EOF: the process exits
    }, LINGER_MS).unref();
  }

  /** The running process's pid (benchmarks read its CPU time). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  send(line: string): void {
    this.child?.stdin.write(`${line}\n`);
  }

  private restart(): void {
    this.restarting = false;
    if (this.clients.size === 0) return;
    this.start();
    for (const c of this.clients.values()) for (const line of c.replay()) this.send(line);
  }

  private start(): void {
    // Its parent's pid: a process whose parent died before it could ask for SIGKILL on that death exits at once.
    const child = spawn(this.binary!, [String(process.pid)], { stdio: ['pipe', 'pipe', 'inherit'] }) as unknown as ChildProcessWithoutNullStreams;
    const startedAt = Date.now();
    let pending = '';
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const m = parseLine(line);
        this.clients.get(m.proxy)?.receive(m);
      }
    });
    child.stdin.on('error', () => undefined); // a dead process: its 'exit' restarts it
    const died = (why: string) => {
      if (this.child !== child) return; // ended on purpose, or already seen
      this.child = undefined;
      this.restarting = true;
      console.error(JSON.stringify({ component: 'berth-service-proxy', msg: 'berth-proxy ended, starting it again', why }));
      // A process that dies at once (it cannot even start) is not restarted in a tight loop.
      setTimeout(() => this.restart(), Date.now() - startedAt < RESTART_MS ? RESTART_MS : 0).unref();
    };
    child.on('error', (err) => died(err.message));
    child.on('exit', (code, signal) => died(signal ?? `exit code ${code}`));
    // Published ports never keep a process alive by themselves.
    child.unref();
    (child.stdin as unknown as { unref(): void }).unref();
    (child.stdout as unknown as { unref(): void }).unref();
    this.child = child;
  }
}

function relayBinary(): string {
  const binary = path.join(nativeBuildDir(), 'berth-proxy');
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: build it with \`make -C native\` (npm run build does)`);
  return binary;
}

export const proxyRelay = new ProxyRelay();
