import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import * as Y from 'yjs'
import type { Store, StoredRoom } from './Store'

/**
 * The embedded default store: one SQLite file in WAL mode.
 *
 * `synchronous = NORMAL` makes each append durable against a process crash (`kill -9`):
 * the WAL write has reached the OS before `append` returns. Only a power cut can lose
 * the last moments, which is the usual trade of a WAL database.
 *
 * @example
 * const store = new SqliteStore({ file: './data/sketchroom.db' })
 * await store.append('room1', update)
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database
  private readonly insert: Database.Statement<[string, Uint8Array]>
  private readonly select: Database.Statement<[string], { data: Uint8Array }>
  private readonly replace: (roomId: string, state: Uint8Array) => void

  constructor(options: { file: string }) {
    fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true })
    this.db = new Database(options.file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS room_updates (
        id   INTEGER PRIMARY KEY AUTOINCREMENT,
        room TEXT NOT NULL,
        data BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS room_updates_room ON room_updates (room, id);
    `)
    this.insert = this.db.prepare('INSERT INTO room_updates (room, data) VALUES (?, ?)')
    this.select = this.db.prepare('SELECT data FROM room_updates WHERE room = ? ORDER BY id')
    const remove = this.db.prepare('DELETE FROM room_updates WHERE room = ?')
    this.replace = this.db.transaction((roomId: string, state: Uint8Array) => {
      remove.run(roomId)
      this.insert.run(roomId, state)
    })
  }

  async load(roomId: string): Promise<StoredRoom | null> {
    const rows = this.select.all(roomId)
    if (rows.length === 0) return null
    let bytes = 0
    const updates = rows.map((r) => {
      bytes += r.data.length
      return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)
    })
    const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
    return { update, entries: rows.length, bytes }
  }

  async append(roomId: string, update: Uint8Array): Promise<void> {
    this.insert.run(roomId, update)
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    this.replace(roomId, state)
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }
}
