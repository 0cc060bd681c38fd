/**
 * The embedded backend: a kine-style revision log in one SQLite file (better-sqlite3, WAL).
 *
 * Every write appends a row to `log`; its `rev` (AUTOINCREMENT, never reused) is the global revision and the
 * object's resourceVersion. A key's state at revision R is its newest row with rev <= R (absent if that row is a
 * deletion tombstone), so lists at a past revision — continue pages — read the same log. Compaction deletes rows
 * no read at or above the compacted revision can need.
 *
 * better-sqlite3 is synchronous and this process is the file's only writer (locking_mode=EXCLUSIVE), so every
 * transaction runs to completion inside one JS turn; the revision counter is kept in memory. WAL with
 * synchronous=NORMAL makes a commit durable against a killed process (not against power loss), which is the
 * contract: every acknowledged write survives kill -9.
 */
import Database from 'better-sqlite3';
import {
  checkPreconditions,
  decodeContinue,
  decodeEvent,
  decodeObject,
  encodeContinue,
  encodeObject,
  isPrefix,
  isSameEncoding,
  prefixEnd,
  writtenObject,
} from './codec';
import {
  ListOptions,
  ListResult,
  Preconditions,
  Storage,
  StorageError,
  StoredObject,
  TryUpdate,
  WatchEvent,
  Watcher,
  WatchOptions,
} from './types';
import { AutoCompaction, scheduleCompaction } from './compaction';
import { ChannelOwner, WatchChannel } from './watch-channel';
import { WatcherIndex } from './watcher-index';

export interface SqliteStorageOptions {
  /** Compact periodically; off when absent. */
  readonly compaction?: AutoCompaction;
  /** Pending events per watcher before it is ended with Unavailable. Default 10,000. */
  readonly watchCapacity?: number;
}

interface LogRow {
  rev: number;
  key: string;
  created: number;
  deleted: number;
  value: string;
  prev_rev: number | null;
  prev_value: string | null;
}

interface LatestRow {
  rev: number;
  deleted: number;
  value: string;
}

/** Rows of history examined per compaction step (one short transaction each). */
const COMPACT_STEP = 1_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  rev      INTEGER PRIMARY KEY AUTOINCREMENT,
  key      TEXT    NOT NULL,
  created  INTEGER NOT NULL,  -- 1: this row made the key exist
  deleted  INTEGER NOT NULL,  -- 1: tombstone; value holds the last state
  prev_rev INTEGER NOT NULL,  -- the key's previous row, 0 if none
  value    TEXT    NOT NULL   -- the object as JSON, without resourceVersion
);
DROP INDEX IF EXISTS log_key_rev;
-- Newest first within a key: one seek finds a key's state at any revision (see listSql).
CREATE INDEX IF NOT EXISTS log_key_newest ON log (key, rev DESC);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

/**
 * The state at @rev of every key in [@start, @end), in key order, deleted keys left out. A skip scan: each step is
 * one index seek to the next key's newest row at or below @rev, so the cost grows with the number of keys, not
 * with how much history they have. `op` is `>=` for a first page, `>` after a continue token's last key.
 */
const listSql = (op: '>=' | '>'): string => `
WITH RECURSIVE k(key, rev, deleted, value) AS (
  SELECT l.key, l.rev, l.deleted, l.value FROM log l
    WHERE l.rev = (SELECT rev FROM log WHERE key ${op} @start AND key < @end AND rev <= @rev ORDER BY key, rev DESC LIMIT 1)
  UNION ALL
  SELECT l.key, l.rev, l.deleted, l.value FROM k JOIN log l
    ON l.rev = (SELECT rev FROM log WHERE key > k.key AND key < @end AND rev <= @rev ORDER BY key, rev DESC LIMIT 1)
)
SELECT key, rev, value FROM k WHERE deleted = 0`;

const REPLAY_COLUMNS = `SELECT l.rev, l.key, l.created, l.deleted, l.value, p.rev AS prev_rev, p.value AS prev_value
  FROM log l LEFT JOIN log p ON p.rev = l.prev_rev`;

/** Opens a database file the way the backend runs it (also used by bench/store-floor.ts to measure the floor). */
export function openSqliteFile(path: string): Database.Database {
  // Waiting for the lock only helps a restart overlapping the old process's exit; a live second writer is refused.
  const db = new Database(path, { timeout: 1000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // One writer process: the in-memory revision counter and watch fan-out are only right if nobody else writes.
  db.pragma('locking_mode = EXCLUSIVE');
  return db;
}

export class SqliteStorage implements Storage {
  private readonly db: Database.Database;
  private readonly watchers = new WatcherIndex();
  private readonly channelOwner: ChannelOwner;
  private revision: number;
  private compactedRevision: number;
  /** The history removal in progress, if any: compactions run one after another. */
  private compaction: Promise<void> = Promise.resolve();
  private stopCompaction?: () => void;
  private closed = false;

  private readonly stmt: {
    latest: Database.Statement<[string], LatestRow>;
    insert: Database.Statement<[string, number, number, number, string]>;
    listFrom: Database.Statement<{ start: string; end: string; rev: number }, { key: string; rev: number; value: string }>;
    listAfter: Database.Statement<{ start: string; end: string; rev: number }, { key: string; rev: number; value: string }>;
    replayPrefix: Database.Statement<[string, string, number], LogRow>;
    replayKey: Database.Statement<[string, number], LogRow>;
    compact: Database.Statement<{ from: number; to: number; rev: number }>;
    stepEnd: Database.Statement<{ from: number; step: number }, { rev: number }>;
    setMeta: Database.Statement<[string, number]>;
  };

  constructor(readonly path: string, options: SqliteStorageOptions = {}) {
    this.channelOwner = {
      capacity: options.watchCapacity ?? 10_000,
      revision: () => this.revision, // writes publish synchronously: every channel has seen all up to here
      onEnd: (c) => this.watchers.remove(c),
    };
    try {
      this.db = openSqliteFile(path);
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new StorageError('Unavailable', path, `cannot open SQLite store ${path}: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
    this.stmt = {
      latest: this.db.prepare('SELECT rev, deleted, value FROM log WHERE key = ? ORDER BY rev DESC LIMIT 1'),
      insert: this.db.prepare('INSERT INTO log (key, created, deleted, prev_rev, value) VALUES (?, ?, ?, ?, ?)'),
      listFrom: this.db.prepare(listSql('>=')),
      listAfter: this.db.prepare(listSql('>')),
      replayPrefix: this.db.prepare(`${REPLAY_COLUMNS} WHERE l.key >= ? AND l.key < ? AND l.rev > ? ORDER BY l.rev`),
      replayKey: this.db.prepare(`${REPLAY_COLUMNS} WHERE l.key = ? AND l.rev > ? ORDER BY l.rev`),
      // Rows in (@from, @to] that no read at or above @rev can see: tombstones, and rows superseded
      // by a newer row that is itself at or below it.
      compact: this.db.prepare(`DELETE FROM log WHERE rev > @from AND rev <= @to AND (deleted = 1
        OR EXISTS (SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= @rev))`),
      stepEnd: this.db.prepare('SELECT rev FROM log WHERE rev > @from ORDER BY rev LIMIT 1 OFFSET @step'),
      setMeta: this.db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
    };
    const seq = this.db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'log'").get();
    this.revision = seq?.seq ?? 0;
    const compacted = this.db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'compacted'").get();
    this.compactedRevision = compacted?.value ?? 0;
    if (options.compaction) this.stopCompaction = scheduleCompaction(this, options.compaction);
  }

  async create(key: string, obj: StoredObject): Promise<StoredObject> {
    this.assertOpen(key);
    const text = encodeObject(key, obj);
    const prev = this.stmt.latest.get(key);
    if (prev && !prev.deleted) {
      throw new StorageError('AlreadyExists', key, `${key} already exists`, prev.rev);
    }
    const rev = this.append(key, 1, 0, prev?.rev ?? 0, text);
    this.publish(key, decodeEvent('ADDED', key, rev, { object: text }));
    return writtenObject(obj, rev);
  }

  async get(key: string): Promise<StoredObject> {
    this.assertOpen(key);
    const row = this.stmt.latest.get(key);
    if (!row || row.deleted) throw new StorageError('NotFound', key, `${key} not found`, this.revision);
    return decodeObject(key, row.value, row.rev);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen(prefix);
    const token = opts.continue ? decodeContinue(prefix, opts.continue) : undefined;
    const rev = token?.revision ?? opts.revision ?? this.revision;
    if (rev < this.compactedRevision) {
      throw new StorageError('Gone', prefix, `revision ${rev} is older than the compacted revision ${this.compactedRevision}`, rev);
    }
    if (rev > this.revision) {
      throw new StorageError('TooLargeResourceVersion', prefix, `revision ${rev} is newer than the newest, ${this.revision}`, rev);
    }
    const stmt = token ? this.stmt.listAfter : this.stmt.listFrom;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const items: StoredObject[] = [];
    let lastKey = '';
    for (const row of stmt.iterate({ start: token?.lastKey ?? prefix, end: prefixEnd(prefix), rev })) {
      const obj = decodeObject(row.key, row.value, row.rev);
      if (opts.predicate && !opts.predicate(obj)) continue;
      if (items.length === limit) {
        // Breaking out of iterate() resets the statement. Continue only when a further match exists, so a
        // client never fetches an empty last page.
        return { items, revision: rev, continue: encodeContinue({ revision: rev, lastKey }) };
      }
      items.push(obj);
      lastKey = row.key;
    }
    return { items, revision: rev };
  }

  async guaranteedUpdate(key: string, tryUpdate: TryUpdate, preconditions?: Preconditions): Promise<StoredObject> {
    for (;;) {
      this.assertOpen(key);
      const row = this.stmt.latest.get(key);
      if (!row || row.deleted) throw new StorageError('NotFound', key, `${key} not found`, this.revision);
      const current = decodeObject(key, row.value, row.rev);
      checkPreconditions(key, current, preconditions);
      const next = await tryUpdate(current);
      const text = encodeObject(key, next);
      // The compare of compare-and-swap: nothing can interleave between this read and the insert (one JS turn).
      const now = this.stmt.latest.get(key);
      if (!now || now.rev !== row.rev) continue;
      if (isSameEncoding(row.value, text)) return decodeObject(key, row.value, row.rev);
      const rev = this.append(key, 0, 0, row.rev, text);
      this.publish(key, decodeEvent('MODIFIED', key, rev, { object: text, prev: { text: row.value, revision: row.rev } }));
      return writtenObject(next, rev);
    }
  }

  async delete(key: string, preconditions?: Preconditions): Promise<StoredObject> {
    this.assertOpen(key);
    const row = this.stmt.latest.get(key);
    if (!row || row.deleted) throw new StorageError('NotFound', key, `${key} not found`, this.revision);
    checkPreconditions(key, decodeObject(key, row.value, row.rev), preconditions);
    const rev = this.append(key, 0, 1, row.rev, row.value);
    this.publish(key, decodeEvent('DELETED', key, rev, { object: row.value, prev: { text: row.value, revision: row.rev } }));
    return decodeObject(key, row.value, rev);
  }

  async watch(prefix: string, opts: WatchOptions): Promise<Watcher> {
    this.assertOpen(prefix);
    const from = opts.fromRevision > 0 ? opts.fromRevision : this.revision;
    if (from < this.compactedRevision) {
      throw new StorageError('Gone', prefix, `revision ${from} is older than the compacted revision ${this.compactedRevision}`, from);
    }
    const channel = new WatchChannel(prefix, { ...opts, fromRevision: from }, this.channelOwner);
    // Registering and reading the backlog in the same JS turn leaves no gap; the channel drops any overlap.
    this.watchers.add(channel);
    if (from < this.revision) {
      const rows = isPrefix(prefix)
        ? this.stmt.replayPrefix.all(prefix, prefixEnd(prefix), from)
        : this.stmt.replayKey.all(prefix, from);
      channel.replay(rows.map(eventOf));
    }
    return channel;
  }

  async currentRevision(): Promise<number> {
    this.assertOpen('');
    return this.revision;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen('');
    if (revision > this.revision) {
      throw new StorageError('TooLargeResourceVersion', '', `cannot compact at ${revision}: newest revision is ${this.revision}`, revision);
    }
    if (revision <= this.compactedRevision) return;
    // Reads below `revision` answer Gone from this moment on, so nobody can see the history half removed while it
    // is deleted in small steps (a single DELETE of a busy log would block the event loop for seconds).
    this.stmt.setMeta.run('compacted', revision);
    this.compactedRevision = revision;
    this.compaction = this.compaction.then(() => this.removeHistory(revision));
    await this.compaction;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopCompaction?.();
    for (const channel of this.watchers.all()) {
      channel.fail(new StorageError('Unavailable', channel.prefix, `store ${this.path} closed`));
    }
    this.db.close();
  }

  /**
   * Deletes the rows no read at or above `revision` needs, oldest first, about COMPACT_STEP rows per transaction.
   * Ascending order matters: a row is removed only while the newer row that supersedes it still exists.
   */
  private async removeHistory(revision: number): Promise<void> {
    for (let from = 0; from < revision && !this.closed; ) {
      const to = Math.min(revision, this.stmt.stepEnd.get({ from, step: COMPACT_STEP })?.rev ?? revision);
      this.stmt.compact.run({ from, to, rev: revision });
      from = to;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private append(key: string, created: number, deleted: number, prevRev: number, value: string): number {
    try {
      const rev = Number(this.stmt.insert.run(key, created, deleted, prevRev, value).lastInsertRowid);
      this.revision = rev;
      return rev;
    } catch (err) {
      throw new StorageError('Unavailable', key, `cannot write ${key} to ${this.path}: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
  }

  private publish(key: string, event: WatchEvent): void {
    this.watchers.publish(key, event);
  }

  private assertOpen(key: string): void {
    if (this.closed) throw new StorageError('Unavailable', key, `store ${this.path} is closed`);
  }
}

function eventOf(row: LogRow): WatchEvent {
  const { key, rev: revision } = row;
  const object = decodeObject(key, row.value, revision);
  const prevObject = row.prev_value !== null && row.prev_rev !== null ? decodeObject(key, row.prev_value, row.prev_rev) : undefined;
  if (row.deleted) return { type: 'DELETED', key, object, prevObject, revision };
  if (row.created) return { type: 'ADDED', key, object, revision };
  return { type: 'MODIFIED', key, object, prevObject, revision };
}
