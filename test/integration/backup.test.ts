/**
 * `npm run backup` and `npm run restore` against a real server, on SQLite and on
 * PostgreSQL: a stock y-websocket client keeps drawing while the backup runs; a server
 * started on what was restored has every record stored before the backup began.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { describe, expect, test } from 'vitest'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { geoShape, records, seedBoard } from '../abuse/board'
import { DATABASE_URL, postgresSchemas, ROOT, synced, tempDir, testScope, waitFor } from '../helpers'

const { server, client, defer } = testScope()
const schemas = postgresSchemas('sketchroom_backup')

/** Runs `npm run <name>` the way an operator would (without npm's own output), without blocking the server in this process. */
function run(name: 'backup' | 'restore', args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', `${name}.ts`), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', DATABASE_SCHEMA: '', REDIS_URL: '', AUTH_SECRET: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    child.on('exit', (code) => resolve({ code, out }))
  })
}

/** Every record of a board, as JSON by id. */
function recordsOf(doc: import('yjs').Doc): Map<string, string> {
  return new Map([...records(doc).map].map(([key, entry]) => [key, JSON.stringify((entry as { val: unknown }).val)]))
}

const stores = [
  { kind: 'SQLite', env: () => ({}) },
  {
    kind: 'PostgreSQL',
    env: () => ({ DATABASE_URL, DATABASE_SCHEMA: schemas.next() }),
  },
]

describe.each(stores)('backup and restore on $kind', ({ env: storeEnv }) => {
  test('a backup taken while a client draws restores every record stored before it began', async () => {
    const env: Record<string, string> = { ...storeEnv(), DATA_DIR: path.join(tempDir(), 'data') }
    const s = await server(env)
    // Some boards at rest, and one where a stock client keeps drawing through the backup.
    const quiet = ['quietBoardNumber000001', 'quietBoardNumber000002', 'quietBoardNumber000003']
    const quietContent = new Map<string, Map<string, string>>()
    for (const [i, room] of quiet.entries()) {
      const c = client(s, room)
      await synced(c)
      seedBoard(
        c.doc,
        Array.from({ length: 20 + i }, (_, n) => geoShape(`shape:q${n}`, { w: 10 + n })),
      )
      quietContent.set(room, recordsOf(c.doc))
    }
    const room = 'drawingDuringTheBackup'
    const writer = client(s, room)
    const observer = client(s, room)
    await synced(writer, observer)
    seedBoard(writer.doc, [])
    let drawn = 0
    const pen = setInterval(() => records(writer.doc).set(`shape:d${drawn}`, geoShape(`shape:d${drawn++}`, { w: 10 + drawn })), 5)
    defer(() => clearInterval(pen))
    await waitFor(() => records(observer.doc).map.size > 50, 'some drawing to reach the observer')
    for (const r of quiet) await waitFor(() => (s.sync.rooms.get(r)?.doc.getArray('records').length ?? 0) > 0, 'quiet boards stored')

    // The server relays only what it has stored: what the observer holds now is stored.
    const stored = recordsOf(observer.doc)
    const backupDir = path.join(tempDir(), 'backup')
    const backup = await run('backup', [backupDir], env)
    const drawnDuring = recordsOf(observer.doc).size - stored.size
    clearInterval(pen)
    expect(backup.out).toMatch(/^backup: \d+ boards .* → /m)
    expect(backup.code).toBe(0)
    // The server kept serving: the drawing went on, through the server, while the backup ran.
    expect(drawnDuring).toBeGreaterThan(0)
    const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as {
      counts: { boards: number }
      files: Array<{ path: string; sha256: string }>
      secret: string
    }
    expect(manifest.counts.boards).toBe(4)
    expect(manifest.secret).toBe('file')
    expect(manifest.files.map((f) => f.path)).toContain('auth-secret')
    await s.close()

    // The disaster: the data is gone. (On PostgreSQL the schema is dropped too.)
    if (env.DATABASE_URL) {
      const store = new PostgresStore({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA })
      await store.dropSchema()
      await store.close()
    }
    const restoredDir = path.join(tempDir(), 'restored')
    const restore = await run('restore', [backupDir], { ...env, DATA_DIR: restoredDir })
    expect(restore.out).toMatch(/^restore: 4 boards .* → /m)
    expect(restore.code).toBe(0)
    expect(fs.readFileSync(path.join(restoredDir, 'auth-secret'), 'utf8')).toBe(
      fs.readFileSync(path.join(env.DATA_DIR!, 'auth-secret'), 'utf8'),
    )
    if (!env.DATABASE_URL) {
      const db = new Database(path.join(restoredDir, 'sketchroom.db'), { readonly: true })
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      db.close()
    }

    const again = await server({ ...env, DATA_DIR: restoredDir })
    const reader = client(again, room)
    await synced(reader)
    const restored = recordsOf(reader.doc)
    const missing = [...stored].filter(([id, value]) => restored.get(id) !== value)
    expect(missing).toEqual([])
    for (const [r, content] of quietContent) {
      const c = client(again, r)
      await synced(c)
      expect(recordsOf(c.doc)).toEqual(content)
    }
  })

  test('restore checks every file and refuses a DATA_DIR or schema with data unless --force', async () => {
    const env: Record<string, string> = { ...storeEnv(), DATA_DIR: path.join(tempDir(), 'data') }
    const s = await server(env)
    const c = client(s, 'aBoardToRestoreTwice01')
    await synced(c)
    seedBoard(c.doc)
    await waitFor(() => (s.sync.rooms.get('aBoardToRestoreTwice01')?.doc.getArray('records').length ?? 0) > 0, 'the board stored')
    const backupDir = path.join(tempDir(), 'backup')
    expect((await run('backup', [backupDir], env)).code).toBe(0)
    expect((await run('backup', [backupDir], env)).out).toContain('is not empty; a backup goes into a new or empty directory')
    c.destroy()
    await s.close()

    // Into the server's own DATA_DIR (and schema), which holds the board: refused, unchanged.
    const before = fs.readdirSync(env.DATA_DIR!).sort()
    const refused = await run('restore', [backupDir], env)
    expect(refused.code).toBe(1)
    expect(refused.out).toMatch(/DATA_DIR=.* is not empty .*pass --force/)
    expect(fs.readdirSync(env.DATA_DIR!).sort()).toEqual(before)
    if (env.DATABASE_URL) {
      // An empty DATA_DIR does not let a restore overwrite a schema that holds boards.
      const schemaRefused = await run('restore', [backupDir], { ...env, DATA_DIR: path.join(tempDir(), 'empty') })
      expect(schemaRefused.code).toBe(1)
      expect(schemaRefused.out).toContain(`PostgreSQL schema "${env.DATABASE_SCHEMA}" already holds 1 board;`)
    }
    const forced = await run('restore', [backupDir, '--force'], env)
    expect(forced.out).toContain('restore: 1 board')
    expect(forced.code).toBe(0)
    expect(forced.out).toMatch(/what was there is kept in .*replaced-\d{8}T\d{6}Z/)
    if (env.DATABASE_URL) {
      const aside = /kept in PostgreSQL schema "([a-z0-9_]+)"/.exec(forced.out)?.[1]
      expect(aside).toMatch(new RegExp(`^${env.DATABASE_SCHEMA}_replaced_\\d{8}t\\d{6}z$`))
      schemas.keep(aside!)
      const pgc = new pg.Client({ connectionString: env.DATABASE_URL })
      await pgc.connect()
      const { rows } = await pgc.query('SELECT count(DISTINCT room)::int AS n FROM "' + aside! + '".sketchroom_updates')
      await pgc.end()
      expect(rows[0].n).toBe(1)
    }

    // A damaged backup is refused before anything is touched, naming the file.
    const asset = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')).files[0].path as string
    fs.appendFileSync(path.join(backupDir, asset), 'x')
    const target = path.join(tempDir(), 'fresh')
    const damaged = await run('restore', [backupDir], { ...env, DATA_DIR: target })
    expect(damaged.code).toBe(1)
    expect(damaged.out).toContain(`${asset}: checksum mismatch`)
    expect(fs.existsSync(target)).toBe(false)
  })
})
