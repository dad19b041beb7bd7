import type Database from 'better-sqlite3'
import { FileLocks } from './fileLock'
import type { BoardCatalog, BoardInfo, BoardLock, BoardPatch, NewVersion, VersionInfo, VersionReason } from './Store'
import { assembleVersion, contentHash, layoutVersion, newVersionId, storedVersionInfo } from './versionLayout'

/** The tables of data format 2 (see SqliteStore's migrations). */
export const SQLITE_CATALOG_DDL = `
  CREATE TABLE IF NOT EXISTS boards (
    room            TEXT    PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    changed_at      INTEGER,
    opened_at       INTEGER,
    title           TEXT    NOT NULL DEFAULT '',
    shapes          INTEGER NOT NULL DEFAULT 0,
    bytes           INTEGER NOT NULL DEFAULT 0,
    deleted_at      INTEGER,
    link_generation INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  -- A version is a keyframe (base NULL: the whole document) or a diff against one. A
  -- keyframe that was deleted while others still need it stays, hidden.
  CREATE TABLE IF NOT EXISTS versions (
    room         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    name         TEXT,
    shapes       INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    editors      TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    base         TEXT,
    hidden       INTEGER NOT NULL DEFAULT 0,
    data         BLOB    NOT NULL,
    PRIMARY KEY (room, id)
  ) WITHOUT ROWID;
`

interface BoardRow {
  room: string
  created_at: number
  changed_at: number | null
  opened_at: number | null
  title: string
  shapes: number
  bytes: number
  deleted_at: number | null
  link_generation: number
}

interface VersionRow {
  id: string
  created_at: number
  reason: string
  name: string | null
  shapes: number
  bytes: number
  editors: string
  stored: number
}

const toBoard = (r: BoardRow): BoardInfo => ({
  roomId: r.room,
  createdAt: r.created_at,
  changedAt: r.changed_at,
  openedAt: r.opened_at,
  title: r.title,
  shapes: r.shapes,
  bytes: r.bytes,
  deletedAt: r.deleted_at,
  linkGeneration: r.link_generation,
})

const toVersion = (r: VersionRow): VersionInfo => ({
  id: r.id,
  createdAt: r.created_at,
  reason: r.reason as VersionReason,
  name: r.name,
  shapes: r.shapes,
  bytes: r.bytes,
  storedBytes: r.stored,
  editors: JSON.parse(r.editors) as string[],
})

const VERSION_COLUMNS = 'id, created_at, reason, name, shapes, bytes, editors, length(data) AS stored'

/**
 * The board catalog and versions in the SQLite file (data format 2). Synchronous
 * statements behind the async contract, like the log.
 *
 * @example
 * const catalog = new SqliteCatalog(db, (roomId) => db.prepare('DELETE FROM room_log WHERE room = ?').run(roomId), '/data/sketchroom.db-locks')
 */
export class SqliteCatalog implements BoardCatalog {
  private readonly statements
  private readonly locks: FileLocks

  constructor(
    private readonly db: Database.Database,
    /** Deletes the board's update log (for purge, in the same transaction). */
    private readonly deleteLog: (roomId: string) => void,
    /** Where board operation locks are kept (files, so every process on the file sees them). */
    lockDir: string,
    /** Commits appends the store holds for the end of the turn, before the logs are scanned. */
    private readonly commitPending: () => void = () => {},
  ) {
    this.locks = new FileLocks(lockDir)
    this.statements = {
      rooms: db.prepare<[], { room: string }>('SELECT DISTINCT room FROM room_log'),
      log: db.prepare<[string], { data: Uint8Array }>('SELECT data FROM room_log WHERE room = ? ORDER BY seq'),
      versionData: db.prepare<[string], { data: Uint8Array }>('SELECT data FROM versions WHERE room = ?'),
      board: db.prepare<[string], BoardRow>('SELECT * FROM boards WHERE room = ?'),
      boards: db.prepare<[], BoardRow>('SELECT * FROM boards ORDER BY coalesce(changed_at, created_at) DESC'),
      ensure: db.prepare<[string, number]>('INSERT INTO boards (room, created_at) VALUES (?, ?) ON CONFLICT (room) DO NOTHING'),
      deleted: db.prepare<[number | null, string]>('UPDATE boards SET deleted_at = ? WHERE room = ?'),
      generation: db.prepare<[string], { link_generation: number }>(
        'UPDATE boards SET link_generation = link_generation + 1 WHERE room = ? RETURNING link_generation',
      ),
      purgeBoard: db.prepare<[string]>('DELETE FROM boards WHERE room = ?'),
      purgeVersions: db.prepare<[string]>('DELETE FROM versions WHERE room = ?'),
      newest: db.prepare<[string], { id: string; hash: string }>(
        'SELECT id, hash FROM versions WHERE room = ? AND hidden = 0 ORDER BY id DESC LIMIT 1',
      ),
      keyframe: db.prepare<[string], { id: string; data: Uint8Array }>(
        'SELECT id, data FROM versions WHERE room = ? AND base IS NULL ORDER BY id DESC LIMIT 1',
      ),
      insertVersion: db.prepare(
        `INSERT INTO versions (room, id, created_at, reason, name, shapes, bytes, editors, hash, base, data)
         VALUES (@room, @id, @createdAt, @reason, @name, @shapes, @bytes, @editors, @hash, @base, @data)`,
      ),
      versions: db.prepare<[string], VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE room = ? AND hidden = 0 ORDER BY id DESC`),
      version: db.prepare<[string, string], { data: Uint8Array; base: string | null }>(
        'SELECT data, base FROM versions WHERE room = ? AND id = ?',
      ),
      needed: db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM versions WHERE room = ? AND base = ?'),
      hide: db.prepare<[string, string]>('UPDATE versions SET hidden = 1 WHERE room = ? AND id = ?'),
      deleteVersion: db.prepare<[string, string]>('DELETE FROM versions WHERE room = ? AND id = ?'),
      orphans: db.prepare<[string], { id: string }>(
        `SELECT id FROM versions k WHERE room = ? AND hidden = 1
           AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.room = k.room AND v.base = k.id)`,
      ),
    }
  }

  async board(roomId: string): Promise<BoardInfo | null> {
    const row = this.statements.board.get(roomId)
    return row ? toBoard(row) : null
  }

  async boardsOf(roomIds: string[]): Promise<BoardInfo[]> {
    const out: BoardInfo[] = []
    this.db.transaction(() => {
      for (const roomId of roomIds) {
        const row = this.statements.board.get(roomId)
        if (row) out.push(toBoard(row))
      }
    })()
    return out
  }

  async boards(): Promise<BoardInfo[]> {
    return this.statements.boards.all().map(toBoard)
  }

  async noteBoard(roomId: string, patch: BoardPatch): Promise<void> {
    this.db.transaction(() => {
      this.statements.ensure.run(roomId, Date.now())
      const columns = { changedAt: 'changed_at', openedAt: 'opened_at', title: 'title', shapes: 'shapes', bytes: 'bytes' } as const
      const sets = Object.entries(patch).filter(([, v]) => v !== undefined)
      if (sets.length === 0) return
      const sql = `UPDATE boards SET ${sets.map(([k]) => `${columns[k as keyof typeof columns]} = ?`).join(', ')} WHERE room = ?`
      this.db.prepare(sql).run(...sets.map(([, v]) => v), roomId)
    })()
  }

  async setDeleted(roomId: string, at: number | null): Promise<void> {
    this.statements.ensure.run(roomId, Date.now())
    this.statements.deleted.run(at, roomId)
  }

  async bumpLinkGeneration(roomId: string): Promise<number> {
    this.statements.ensure.run(roomId, Date.now())
    return this.statements.generation.get(roomId)!.link_generation
  }

  async purge(roomId: string): Promise<void> {
    this.db.transaction(() => {
      this.deleteLog(roomId)
      this.statements.purgeVersions.run(roomId)
      this.statements.purgeBoard.run(roomId)
    })()
  }

  async addVersion(roomId: string, version: NewVersion): Promise<VersionInfo | null> {
    const hash = contentHash(version.state)
    return this.db.transaction((): VersionInfo | null => {
      const newest = this.statements.newest.get(roomId)
      // Nothing changed since the newest: no new version (a name is given to a new one anyway).
      if (newest?.hash === hash && version.name === null) return null
      const keyframe = this.statements.keyframe.get(roomId)
      const { data, base } = layoutVersion(version.state, keyframe ? { id: keyframe.id, state: keyframe.data } : null)
      const id = newVersionId(version.createdAt, newest?.id)
      const row = { room: roomId, id, ...version, editors: JSON.stringify(version.editors), hash, base, data, bytes: version.state.length }
      this.statements.ensure.run(roomId, version.createdAt)
      this.statements.insertVersion.run(row)
      return storedVersionInfo(id, version, data.length)
    })()
  }

  async versions(roomId: string): Promise<VersionInfo[]> {
    return this.statements.versions.all(roomId).map(toVersion)
  }

  async versionState(roomId: string, id: string): Promise<Uint8Array | null> {
    const row = this.statements.version.get(roomId, id)
    if (!row) return null
    const base = row.base ? this.statements.version.get(roomId, row.base) : null
    return assembleVersion(row.data, base ? base.data : null)
  }

  async deleteVersions(roomId: string, ids: string[]): Promise<void> {
    this.db.transaction(() => {
      const newest = this.statements.newest.get(roomId)?.id
      for (const id of ids) {
        if (id === newest) continue
        if (this.statements.needed.get(roomId, id)!.n > 0) this.statements.hide.run(roomId, id)
        else this.statements.deleteVersion.run(roomId, id)
      }
      for (const { id } of this.statements.orphans.all(roomId)) this.statements.deleteVersion.run(roomId, id)
    })()
  }

  lock(roomId: string, operation: string): Promise<BoardLock> {
    return this.locks.lock(roomId, operation)
  }

  async storedRooms(): Promise<string[]> {
    this.commitPending()
    return this.statements.rooms.all().map((r) => r.room)
  }

  async logEntries(roomId: string): Promise<Uint8Array[]> {
    this.commitPending()
    return this.statements.log.all(roomId).map((r) => new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength))
  }

  async versionData(roomId: string): Promise<Uint8Array[]> {
    return this.statements.versionData.all(roomId).map((r) => new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength))
  }
}
