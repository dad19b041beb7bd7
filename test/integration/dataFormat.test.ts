/**
 * Upgrades: every DATA_DIR an earlier release made (`test/fixtures/datadir-*`, made by
 * `test/fixtures/makeDataDir.ts`) opens with this release and serves its boards unchanged,
 * and its links still work; a DATA_DIR of a newer release is refused with a message.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { DATA_FORMAT } from '../../server/storage/dataFormat'
import { sqliteDataFormat } from '../../server/storage/SqliteStore'
import { type FixtureExpectation, snapshot } from '../fixtures/makeDataDir'
import { ROOT, spawnServer, synced, tempDir, testScope, waitFor } from '../helpers'

const { server, client } = testScope()
const FIXTURES = path.join(ROOT, 'test', 'fixtures')
const fixtures = fs
  .readdirSync(FIXTURES)
  .filter((name) => name.startsWith('datadir-'))
  .sort()

/** A copy of a fixture's DATA_DIR: the test must never change the committed one. */
function copyOf(fixture: string): string {
  const dir = path.join(tempDir(), 'data')
  fs.cpSync(path.join(FIXTURES, fixture, 'data'), dir, { recursive: true })
  return dir
}

test('there is a fixture of the current data format (add one with makeDataDir.ts when the format changes)', () => {
  const formats = fixtures.map(
    (f) => (JSON.parse(fs.readFileSync(path.join(FIXTURES, f, 'expected.json'), 'utf8')) as FixtureExpectation).madeBy.dataFormat,
  )
  expect(formats).toContain(DATA_FORMAT)
})

describe.each(fixtures)('a DATA_DIR made by an earlier release (%s)', (fixture) => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, fixture, 'expected.json'), 'utf8')) as FixtureExpectation

  test('opens, serves every board unchanged and keeps its links, images and format', async () => {
    const dataDir = copyOf(fixture)
    const s = await server({ DATA_DIR: dataDir })
    for (const board of expected.boards) {
      const c = client(s, board.roomId)
      await synced(c)
      expect(snapshot(board.roomId, c.doc)).toEqual(board)
    }
    const res = await fetch(`http://127.0.0.1:${s.port}/api/tokens/${expected.viewToken.token}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ mode: 'view', expiresAt: null })
    for (const asset of expected.assets) expect(fs.existsSync(path.join(dataDir, 'assets', asset))).toBe(true)
    // Stored versions (format 2 on) are listed as they were, and each one opens.
    for (const board of expected.versions ?? []) {
      const res = await fetch(`http://127.0.0.1:${s.port}/api/boards/${board.roomId}/versions`)
      const { versions } = (await res.json()) as { versions: Array<{ id: string; reason: string; name?: string; shapes: number }> }
      const listed = versions.map(({ id, reason, name, shapes }) => ({ id, reason, ...(name ? { name } : {}), shapes }))
      for (const want of board.versions) expect(listed).toContainEqual(want)
      for (const { id } of board.versions) {
        const version = await fetch(`http://127.0.0.1:${s.port}/api/boards/${board.roomId}/versions/${id}`)
        expect(version.status).toBe(200)
      }
    }
    await s.close()

    const file = path.join(dataDir, 'sketchroom.db')
    expect(sqliteDataFormat(file)).toBe(DATA_FORMAT)
    const db = new Database(file, { readonly: true })
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    db.close()
    // An older format was copied, as it was, before it was migrated.
    const backups = fs.existsSync(path.join(dataDir, 'pre-migration')) ? fs.readdirSync(path.join(dataDir, 'pre-migration')) : []
    if ((expected.madeBy.dataFormat ?? 0) < DATA_FORMAT) {
      expect(backups).toEqual([
        expect.stringMatching(new RegExp(`^sketchroom\\.db\\.format-${expected.madeBy.dataFormat ?? 0}\\.\\d{8}T\\d{6}Z$`)),
      ])
      const backup = path.join(dataDir, 'pre-migration', backups[0]!)
      expect(fs.readFileSync(backup).equals(fs.readFileSync(path.join(FIXTURES, fixture, 'data', 'sketchroom.db')))).toBe(false)
      expect(sqliteDataFormat(backup)).toBe(expected.madeBy.dataFormat ?? 0)
    } else {
      expect(backups).toEqual([])
    }
  })
})

test('a DATA_DIR of a newer release is refused at start-up with a message naming both formats; nothing is changed', async () => {
  const dataDir = copyOf(fixtures.at(-1)!)
  const file = path.join(dataDir, 'sketchroom.db')
  const db = new Database(file)
  db.pragma(`user_version = ${DATA_FORMAT + 1}`)
  db.close()
  const before = fs.readFileSync(file)
  // SQLite whatever the environment says (CI sets DATABASE_URL and REDIS_URL).
  const start = spawnServer({ DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' })
  // Should it start after all, it must not outlive the test.
  start.then(
    (s) => s.child.kill('SIGKILL'),
    () => undefined,
  )
  await expect(start).rejects.toThrow(
    new RegExp(
      `could not start: .*sketchroom\\.db holds data format ${DATA_FORMAT + 1}.*this release \\(sketchroom [^)]+\\) reads data formats up to ${DATA_FORMAT}`,
    ),
  )
  expect(fs.readFileSync(file).equals(before)).toBe(true)
  expect(fs.existsSync(path.join(dataDir, 'pre-migration'))).toBe(false)
})

test('boards of a migrated DATA_DIR take new changes and keep them across a restart', async () => {
  const dataDir = copyOf(fixtures[0]!)
  const [board] = (JSON.parse(fs.readFileSync(path.join(FIXTURES, fixtures[0]!, 'expected.json'), 'utf8')) as FixtureExpectation).boards
  let s = await server({ DATA_DIR: dataDir })
  const writer = client(s, board!.roomId)
  const observer = client(s, board!.roomId)
  await synced(writer, observer)
  writer.doc.getText('notes').insert(0, 'after the upgrade')
  const vector = Y.encodeStateVector(writer.doc)
  // The server relays only what it stored: once the observer has it, so does the store.
  await waitFor(() => observer.doc.getText('notes').toString() === 'after the upgrade', 'the change to be relayed')
  await s.close()
  s = await server({ DATA_DIR: dataDir })
  const reader = client(s, board!.roomId)
  await synced(reader)
  expect(Y.encodeStateVector(reader.doc)).toEqual(vector)
  expect(reader.doc.getText('notes').toString()).toBe('after the upgrade')
})
