import fs from 'node:fs'
import Database from 'better-sqlite3'

/** What a copy of a board database holds, for a backup's manifest and a restore's check. */
export interface DatabaseSummary {
  /** `DATA_FORMAT` of the data (see dataFormat.ts). */
  dataFormat: number
  boards: number
  logEntries: number
  /** `PRAGMA integrity_check`: 'ok', or the first problems SQLite found. */
  integrity: string
}

/**
 * Copies the live database `source` to `dest` with SQLite's online backup API, while a
 * server keeps writing to it: the copy is the database as of one moment (every append
 * committed before it), and the server is never blocked (in WAL mode readers and the
 * writer do not wait for each other).
 *
 * The copy is made in one step. Done page by page it would start over whenever the server
 * wrote in between, which on a busy board could be forever.
 *
 * @example
 * const summary = await backupSqlite('data/sketchroom.db', '/backups/today/sketchroom.db')
 */
export async function backupSqlite(source: string, dest: string): Promise<DatabaseSummary> {
  if (!fs.existsSync(source)) throw new Error(`${source} does not exist`)
  const db = new Database(source, { readonly: true, fileMustExist: true })
  try {
    await db.backup(dest, { progress: () => 0x7fffffff })
  } finally {
    db.close()
  }
  // The copy is a file at rest: one file, no WAL beside it, whatever mode the source was in.
  const copy = new Database(dest, { fileMustExist: true })
  try {
    copy.pragma('journal_mode = DELETE')
  } finally {
    copy.close()
  }
  return summarizeSqlite(dest)
}

/** Checks a database file at rest (a backup, a restored copy) and counts what it holds. */
export function summarizeSqlite(file: string): DatabaseSummary {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const integrity = (db.pragma('integrity_check(10)') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ')
    const hasLog = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'room_log'").get()
    const counts = hasLog
      ? db
          .prepare<[], { boards: number; logEntries: number }>(
            'SELECT count(DISTINCT room) AS boards, count(*) AS logEntries FROM room_log',
          )
          .get()!
      : { boards: 0, logEntries: 0 }
    return { dataFormat: db.pragma('user_version', { simple: true }) as number, ...counts, integrity }
  } finally {
    db.close()
  }
}

/** The SQLite library's version, for a backup's manifest. */
export function sqliteVersion(): string {
  const db = new Database(':memory:')
  try {
    return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v
  } finally {
    db.close()
  }
}
