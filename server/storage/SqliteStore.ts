import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import * as Y from 'yjs'
import { compactTimestamp, DATA_FORMAT, DataFormatError, type MigrationReport } from './dataFormat'
import { SqliteCatalog, SQLITE_CATALOG_DDL } from './sqliteCatalog'
import type { BoardCatalog, Store, StoredRoom } from './Store'

export interface SqliteStoreOptions {
  file: string
  /** How often a worker thread checkpoints the WAL (default 250 ms); 0: SQLite's own autocheckpoint. */
  checkpointIntervalMs?: number
  /**
   * Told when the checkpoint worker fails. Without checkpoints the WAL grows until
   * restart, so this deserves a loud log line.
   */
  onCheckpointError?: (err: Error) => void
  /** The release opening the file, kept in it so an older release can name it when it refuses. */
  release?: string
  /** Told when the file was in an older data format and has been migrated (after a backup). */
  onMigrated?: (report: MigrationReport) => void
}

/**
 * Steps from one data format to the next, each run in the transaction that sets
 * `user_version` to its `to`. Format 1 is the first versioned layout; releases before
 * versioning wrote its `room_log` already, so from 0 the step only adds what is missing.
 */
const MIGRATIONS: Array<{ to: number; up: (db: Database.Database) => void }> = [
  {
    to: 1,
    up: (db) =>
      db.exec(`
        -- One b-tree keyed by (room, seq): an append touches one leaf page, where a rowid
        -- table plus an index plus AUTOINCREMENT's counter touched three or four.
        CREATE TABLE IF NOT EXISTS room_log (
          room TEXT    NOT NULL,
          seq  INTEGER NOT NULL,
          data BLOB    NOT NULL,
          PRIMARY KEY (room, seq)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sketchroom_meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) WITHOUT ROWID;
      `),
  },
  {
    // The board catalog and versions; every board already stored gets its catalog row.
    to: 2,
    up: (db) => {
      db.exec(SQLITE_CATALOG_DDL)
      db.prepare('INSERT OR IGNORE INTO boards (room, created_at) SELECT DISTINCT room, ? FROM room_log').run(Date.now())
    },
  },
]

interface PendingAppend {
  roomId: string
  seq: number
  update: Uint8Array
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * The embedded default store: one SQLite file in WAL mode.
 *
 * `synchronous = NORMAL` makes each append durable against a process crash (`kill -9`):
 * the WAL write has reached the OS before `append` resolves. Only a power cut can lose
 * the last moments, which is the usual trade of a WAL database.
 *
 * Appends of one event-loop turn (every room that flushed in it) commit together, in one
 * transaction at the end of the turn: a transaction costs far more than a row. Should that
 * transaction fail, each append is tried alone, so only the one that cannot be stored is
 * refused.
 *
 * @example
 * const store = new SqliteStore({ file: './data/sketchroom.db' })
 * await store.append('room1', update)
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database
  private readonly insert: Database.Statement<[string, number, Uint8Array]>
  private readonly select: Database.Statement<[string], { seq: number; data: Uint8Array }>
  private readonly lastSeq: Database.Statement<[string], { seq: number | null }>
  private readonly replace: (roomId: string, state: Uint8Array) => void
  /** Next log position per room this process has touched (one process writes a SQLite file). */
  private readonly nextSeq = new Map<string, number>()
  private readonly insertAll: (rows: PendingAppend[]) => void
  private pending: PendingAppend[] = []
  private readonly checkpointer: Checkpointer | null
  readonly catalog: BoardCatalog

  constructor(private readonly options: SqliteStoreOptions) {
    fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true })
    this.db = new Database(options.file)
    try {
      // First, so a file of a newer release is refused before anything (even its journal mode) changes.
      prepareFormat(this.db, path.resolve(options.file), options)
    } catch (err) {
      this.db.close()
      throw err
    }
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    // A checkpoint that lets the WAL start over also trims the file back to this size.
    this.db.pragma('journal_size_limit = 16777216')
    // In WAL mode with synchronous=NORMAL only checkpoints fsync. Done on the event loop
    // they stall every room for up to ~100 ms, so a worker thread with its own connection
    // does them instead, and this connection never checkpoints by itself.
    const interval = options.checkpointIntervalMs ?? 250
    if (interval > 0) {
      this.db.pragma('wal_autocheckpoint = 0')
      this.checkpointer = startCheckpointer(path.resolve(options.file), interval, options.onCheckpointError)
    } else {
      this.checkpointer = null
    }
    this.insert = this.db.prepare('INSERT INTO room_log (room, seq, data) VALUES (?, ?, ?)')
    this.select = this.db.prepare('SELECT seq, data FROM room_log WHERE room = ? ORDER BY seq')
    this.lastSeq = this.db.prepare('SELECT max(seq) AS seq FROM room_log WHERE room = ?')
    const remove = this.db.prepare('DELETE FROM room_log WHERE room = ?')
    this.catalog = new SqliteCatalog(
      this.db,
      (roomId) => {
        this.commitPending()
        remove.run(roomId)
        this.nextSeq.delete(roomId)
      },
      `${path.resolve(options.file)}-locks`,
      // Scans of the logs see what this turn appended too.
      () => this.commitPending(),
    )
    this.insertAll = this.db.transaction((rows: PendingAppend[]) => {
      for (const row of rows) this.insert.run(row.roomId, row.seq, row.update)
    })
    this.replace = this.db.transaction((roomId: string, state: Uint8Array) => {
      remove.run(roomId)
      this.insert.run(roomId, 0, state)
    })
  }

  async load(roomId: string): Promise<StoredRoom | null> {
    // Whatever this turn appended first: everything that reads or rewrites a log sees it.
    this.commitPending()
    const rows = this.select.all(roomId)
    if (rows.length === 0) return null
    let bytes = 0
    const updates = rows.map((r) => {
      bytes += r.data.length
      return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)
    })
    this.nextSeq.set(roomId, rows[rows.length - 1]!.seq + 1)
    const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
    return { update, entries: rows.length, bytes }
  }

  append(roomId: string, update: Uint8Array): Promise<void> {
    let seq = this.nextSeq.get(roomId)
    if (seq === undefined) seq = (this.lastSeq.get(roomId)?.seq ?? -1) + 1
    this.nextSeq.set(roomId, seq + 1)
    return new Promise<void>((resolve, reject) => {
      if (this.pending.push({ roomId, seq, update, resolve, reject }) === 1) setImmediate(() => this.commitPending())
    })
  }

  /** Commits the turn's appends in one transaction; if it fails, each alone (see the class comment). */
  private commitPending(): void {
    const rows = this.pending
    if (rows.length === 0) return
    this.pending = []
    try {
      this.insertAll(rows)
      for (const row of rows) row.resolve()
      return
    } catch {
      // Rolled back: find the ones that cannot be stored.
    }
    for (const row of rows) {
      try {
        this.insert.run(row.roomId, row.seq, row.update)
        row.resolve()
      } catch (err) {
        // Not stored: the next append of this room takes its place (its log has no gap).
        if (this.nextSeq.get(row.roomId) === row.seq + 1) this.nextSeq.set(row.roomId, row.seq)
        row.reject(err as Error)
      }
    }
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    this.commitPending()
    this.replace(roomId, state)
    // Only once committed: a compaction that fails (a full disk at COMMIT) leaves the old log.
    this.nextSeq.set(roomId, 1)
  }

  /** Forgets per-room bookkeeping of a room that is no longer loaded. */
  forget(roomId: string): void {
    this.nextSeq.delete(roomId)
  }

  async close(): Promise<void> {
    this.commitPending()
    await this.checkpointer?.stop()
    if (this.db.open) {
      // Fold the WAL into the database file, so a stopped server leaves one tidy file. On a
      // full disk that cannot happen; the WAL is folded in on the next start instead.
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)')
      } catch (err) {
        this.options.onCheckpointError?.(err as Error)
      }
      this.db.close()
    }
  }
}

/**
 * Brings the file to `DATA_FORMAT`: a new file gets the tables; an older format is copied
 * to `pre-migration/` beside it (a consistent copy, `VACUUM INTO`) and migrated in one
 * transaction; a newer one is refused before anything is written.
 */
function prepareFormat(db: Database.Database, file: string, options: SqliteStoreOptions): void {
  const found = db.pragma('user_version', { simple: true }) as number
  const meta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sketchroom_meta'").get()
    ? db.prepare<[string], { value: string }>('SELECT value FROM sketchroom_meta WHERE key = ?')
    : null
  if (found > DATA_FORMAT) throw new DataFormatError(file, found, meta?.get('release')?.value ?? null, options.release)
  if (found < DATA_FORMAT) {
    const tables = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get()!.n
    let backup: string | null = null
    if (tables > 0) {
      backup = path.join(path.dirname(file), 'pre-migration', `${path.basename(file)}.format-${found}.${compactTimestamp()}`)
      fs.mkdirSync(path.dirname(backup), { recursive: true })
      db.prepare('VACUUM INTO ?').run(backup)
    }
    db.transaction(() => {
      for (const step of MIGRATIONS.filter((m) => m.to > found)) {
        step.up(db)
        db.pragma(`user_version = ${step.to}`)
      }
    })()
    // A file made just now was not migrated: nothing was there to migrate.
    if (backup) options.onMigrated?.({ location: file, from: found, to: DATA_FORMAT, backup })
  }
  if (options.release) db.prepare("INSERT OR REPLACE INTO sketchroom_meta (key, value) VALUES ('release', ?)").run(options.release)
}

/** The data format of a SQLite file, read from its header (`user_version`) without opening it. */
export function sqliteDataFormat(file: string): number {
  const header = Buffer.alloc(64)
  const fd = fs.openSync(file, 'r')
  try {
    if (fs.readSync(fd, header, 0, 64, 0) < 64 || header.toString('latin1', 0, 15) !== 'SQLite format 3') {
      throw new Error(`${file} is not an SQLite database`)
    }
  } finally {
    fs.closeSync(fd)
  }
  return header.readUInt32BE(60)
}

interface Checkpointer {
  /** Asks the worker to close its connection and waits until it has exited. */
  stop(): Promise<void>
}

/**
 * A worker thread that checkpoints the WAL of `file` every `intervalMs`.
 *
 * It is stopped by a message, not `worker.terminate()`: a worker torn down while it loads
 * the native module, or with statements of its own still alive, aborts the whole process
 * (better-sqlite3 on Node 22 and 24), and a clean stop also closes its connection.
 */
function startCheckpointer(file: string, intervalMs: number, onError: ((err: Error) => void) | undefined): Checkpointer {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3')
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads')
    const Database = require(workerData.modulePath)
    const db = new Database(workerData.file)
    db.pragma('busy_timeout = 1000')
    const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
    const timer = setInterval(() => {
      try {
        // PASSIVE never blocks the writer; it copies what it can and lets the WAL restart.
        checkpoint.run()
      } catch {
        // Busy now; the next round catches up.
      }
    }, workerData.intervalMs)
    parentPort.once('message', () => {
      clearInterval(timer)
      db.close()
      parentPort.close()
    })
    `,
    { eval: true, workerData: { file, modulePath, intervalMs } },
  )
  worker.on('error', (err) => onError?.(err))
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  worker.unref()
  return {
    async stop() {
      worker.ref()
      worker.postMessage('stop')
      // A worker stuck in a checkpoint (a disk that hangs) must not hold up shutdown for ever.
      const timeout = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 5000).unref())
      if ((await Promise.race([exited, timeout])) === 'late') await worker.terminate()
    },
  }
}
