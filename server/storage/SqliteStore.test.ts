import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, test, vi } from 'vitest'
import * as Y from 'yjs'
import { tempDir } from '../../test/helpers'
import { DATA_FORMAT, DataFormatError, type MigrationReport } from './dataFormat'
import { SqliteStore, sqliteDataFormat } from './SqliteStore'
import { storeContract } from './Store.contract'

storeContract('SQLite', async () => {
  const file = path.join(tempDir(), 'store.db')
  return { store: new SqliteStore({ file }), reopen: async () => new SqliteStore({ file }) }
})

describe('data format (PRAGMA user_version)', () => {
  const rawRoomLog = (file: string, version: number, rows: Array<[string, number, Uint8Array]>) => {
    // What a release before versioning left: room_log and user_version 0 (or a newer release's number).
    const db = new Database(file)
    db.exec('CREATE TABLE room_log (room TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (room, seq)) WITHOUT ROWID')
    for (const row of rows) db.prepare('INSERT INTO room_log VALUES (?, ?, ?)').run(...row)
    db.pragma(`user_version = ${version}`)
    db.close()
  }
  const text = (s: string) => {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, s)
    return Y.encodeStateAsUpdate(doc)
  }
  const textOf = (update: Uint8Array) => {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, update)
    return doc.getText('t').toString()
  }

  test('a new file is made in the current format, with nothing to back up', async () => {
    const dir = tempDir()
    const migrated = vi.fn()
    const store = new SqliteStore({ file: path.join(dir, 'store.db'), release: '1.2.3', onMigrated: migrated })
    await store.close()
    expect(sqliteDataFormat(path.join(dir, 'store.db'))).toBe(DATA_FORMAT)
    expect(migrated).not.toHaveBeenCalled()
    expect(fs.existsSync(path.join(dir, 'pre-migration'))).toBe(false)
  })

  test('an unversioned file from an older release is backed up, then migrated, and keeps its rooms', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'store.db')
    rawRoomLog(file, 0, [['room-a', 0, text('kept')]])
    const migrated = vi.fn()
    const store = new SqliteStore({ file, onMigrated: migrated })
    expect(textOf((await store.load('room-a'))!.update)).toBe('kept')
    await store.append('room-a', text('!'))
    await store.close()
    expect(sqliteDataFormat(file)).toBe(DATA_FORMAT)
    expect(migrated).toHaveBeenCalledTimes(1)
    const report = migrated.mock.calls[0]![0] as MigrationReport
    expect(report).toMatchObject({ location: file, from: 0, to: DATA_FORMAT })
    // The copy is the file as it was: old format, old content, intact.
    expect(path.dirname(report.backup!)).toBe(path.join(dir, 'pre-migration'))
    expect(sqliteDataFormat(report.backup!)).toBe(0)
    const copy = new Database(report.backup!, { readonly: true })
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(copy.prepare('SELECT count(*) AS n FROM room_log').get()).toEqual({ n: 1 })
    copy.close()
    // Migrated once: opening it again changes nothing.
    const again = new SqliteStore({ file, onMigrated: migrated })
    await again.close()
    expect(migrated).toHaveBeenCalledTimes(1)
  })

  test('a file from a newer release is refused, naming both formats and that release, and left as it was', async () => {
    const file = path.join(tempDir(), 'store.db')
    await new SqliteStore({ file, release: '9.9.9' }).close()
    const db = new Database(file)
    db.pragma(`user_version = ${DATA_FORMAT + 1}`)
    db.close()
    const before = fs.readFileSync(file)
    expect(() => new SqliteStore({ file, release: '0.0.1' })).toThrow(DataFormatError)
    expect(() => new SqliteStore({ file, release: '0.0.1' })).toThrow(
      `${file} holds data format ${DATA_FORMAT + 1} (last opened by sketchroom 9.9.9); this release (sketchroom 0.0.1) reads data formats up to ${DATA_FORMAT}`,
    )
    expect(fs.readFileSync(file).equals(before)).toBe(true)
  })
})
