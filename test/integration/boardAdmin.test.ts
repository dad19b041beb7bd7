/**
 * Board administration ([S110]–[S119]): `npm run boards` (a process of its own, as an
 * operator runs it) beside a real running server, on SQLite and on PostgreSQL; and the
 * server's sweep (trash expiry, retention), its logs and its metrics.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { AssetRecordType, createTLSchema } from '@tldraw/tlschema'
import pino from 'pino'
import { parseTldrawJsonFile } from 'tldraw'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { BOARD_DELETED_MESSAGE } from '../../lib/links'
import { loadConfig } from '../../server/config'
import { ConfigError } from '../../server/errors'
import { previewFile } from '../../server/http/previews'
import { encodeSyncStep1 } from '../../server/protocol/messages'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { SqliteStore } from '../../server/storage/SqliteStore'
import type { Store } from '../../server/storage/Store'
import { geoShape, records, seedBoard } from '../abuse/board'
import { DATABASE_URL, postgresSchemas, ROOT, type TestClient, type TestServer, tempDir, testScope, waitFor } from '../helpers'

const scope = testScope()
const schemas = postgresSchemas('boards')

interface Run {
  code: number | null
  out: string
  err: string
}

/** `npm run boards -- …` as a child process, with only the store settings given here. */
function boards(
  args: string[],
  env: Record<string, string>,
  onStderr?: (text: string) => void,
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/boards.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, AUTH_SECRET: '', PUBLIC_URL: '', PORT: '', DATABASE_URL: '', DATABASE_SCHEMA: '', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString()
    onStderr?.(err)
  })
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, out: out.trim(), err })))
  scope.defer(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, done }
}

const run = (args: string[], env: Record<string, string>) => boards(args, env).done

/** A tiny file that sniffs as PNG, named like an upload (the SHA-256 of its bytes). */
function putImage(dataDir: string, seed: string): string {
  const bytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(`image ${seed}`)])
  const hash = createHash('sha256').update(bytes).digest('hex')
  fs.mkdirSync(path.join(dataDir, 'assets'), { recursive: true })
  fs.writeFileSync(path.join(dataDir, 'assets', hash), bytes)
  return hash
}

function imageRecords(hash: string, n: number) {
  const assetId = `asset:img${n}`
  const asset = AssetRecordType.create({
    id: assetId as never,
    type: 'image',
    props: { name: `img${n}.png`, src: `/api/assets/${hash}`, w: 10, h: 10, mimeType: 'image/png', isAnimated: false },
  })
  const shape = {
    ...geoShape(`shape:image${n}`),
    type: 'image',
    props: { w: 10, h: 10, playing: true, url: '', assetId, crop: null, flipX: false, flipY: false, altText: '' },
  }
  return [asset, shape]
}

/** The document's records, as plain values by id. */
function recordsOf(doc: Y.Doc): Record<string, unknown> {
  return Object.fromEntries([...records(doc).map].map(([key, entry]) => [key, (entry as { val: unknown }).val]))
}

const STORES = [
  { name: 'SQLite', env: (): Record<string, string> => ({}) },
  { name: 'PostgreSQL', env: (): Record<string, string> => ({ DATABASE_URL, DATABASE_SCHEMA: schemas.next() }) },
]

describe.each(STORES)('npm run boards on $name, beside a running server', ({ name, env: storeEnv }) => {
  const fast = { BOARD_CHECK_INTERVAL_MS: '200', VERSION_AFTER_QUIET_MS: '100' }

  async function setup() {
    const store = storeEnv()
    const s = await scope.server({ ...fast, ...store })
    const cli = { ...fast, ...store, DATA_DIR: s.dataDir }
    return { s, cli, store }
  }

  /** A board drawn by a stock client, in the catalog with its shapes. */
  async function drawnBoard(s: TestServer, cli: Record<string, string>, room: string, extra: unknown[] = []): Promise<TestClient> {
    const c = scope.client(s, room)
    await waitFor(() => c.provider.synced, 'the client to sync')
    seedBoard(c.doc, [geoShape(`shape:${room}`), ...(extra as Array<{ id: string }>)])
    c.doc.getMap('meta').set('title', `Board ${room}`)
    const shapes = 1 + extra.filter((r) => (r as { typeName: string }).typeName === 'shape').length
    await waitFor(
      async () => {
        const list = await run(['list', '--json'], cli)
        return (JSON.parse(list.out || '[]') as Array<{ id: string; shapes: number }>).some((b) => b.id === room && b.shapes === shapes)
      },
      'the board in the catalog',
      30_000,
    )
    return c
  }

  test(`[S110] [S111] [S112] list, show, export (.tldr tldraw opens, and yjs), import of it: the same records on a new board (${name})`, async () => {
    const { s, cli } = await setup()
    const hash = putImage(s.dataDir, 'round-trip')
    const a = await drawnBoard(s, cli, 'adminRoundTrip', imageRecords(hash, 1))

    const list = await run(['list'], cli)
    expect(list.code).toBe(0)
    expect(list.out).toMatch(/^ID\s+TITLE\s+SHAPES\s+BYTES\s+LAST CHANGE\s+LAST OPENED\s+TRASH/)
    expect(list.out).toMatch(
      /adminRoundTrip\s+Board adminRoundTrip\s+2\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+(-|\d{4}-\d\d-\d\d \d\d:\d\d)$/m,
    )
    const shown = await run(['show', 'adminRoundTrip', '--json'], { ...cli, PUBLIC_URL: 'https://boards.example.com' })
    expect(shown.code).toBe(0)
    const details = JSON.parse(shown.out) as { title: string; shapes: number; link: string; deletedAt: null; versions: unknown[] }
    expect(details).toMatchObject({
      title: 'Board adminRoundTrip',
      shapes: 2,
      link: 'https://boards.example.com/b/adminRoundTrip',
      deletedAt: null,
    })
    expect(details.versions.length).toBeGreaterThan(0)

    const file = path.join(s.dataDir, 'exported.tldr')
    const exported = await run(['export', 'adminRoundTrip', '--out', file], cli)
    expect(exported.code).toBe(0)
    const json = fs.readFileSync(file, 'utf8')
    // What tldraw itself does with a file a person opens.
    const opened = parseTldrawJsonFile({ json, schema: createTLSchema() })
    expect(opened.ok).toBe(true)
    const tldr = JSON.parse(json) as { tldrawFileFormatVersion: number; records: Array<{ id: string; props?: { src?: string } }> }
    expect(tldr.tldrawFileFormatVersion).toBe(1)
    // The image travels inside the file, as tldraw's own export does it.
    expect(tldr.records.find((r) => r.id === 'asset:img1')?.props?.src).toMatch(/^data:image\/png;base64,/)

    const yjs = path.join(s.dataDir, 'exported.yjs')
    expect((await run(['export', 'adminRoundTrip', '--format', 'yjs', '--out', yjs], cli)).code).toBe(0)
    const fromYjs = new Y.Doc()
    Y.applyUpdate(fromYjs, fs.readFileSync(yjs))
    expect(recordsOf(fromYjs)).toEqual(recordsOf(a.doc))

    // Imported on a server whose images are gone: the file brings its own.
    fs.rmSync(path.join(s.dataDir, 'assets', hash))
    const imported = await run(['import', file], { ...cli, PORT: '4567' })
    expect(imported.code, imported.err).toBe(0)
    expect(imported.err).toContain('imported exported.tldr as a new board "exported"')
    const link = imported.out
    expect(link).toMatch(/^http:\/\/localhost:4567\/b\/[A-Za-z0-9_-]{22}$/)
    expect(fs.existsSync(path.join(s.dataDir, 'assets', hash))).toBe(true)
    const b = scope.client(s, link.split('/').at(-1)!)
    await waitFor(() => b.provider.synced && records(b.doc).has('shape:image1'), 'the imported board')
    expect(recordsOf(b.doc)).toEqual(recordsOf(a.doc))
    expect(b.doc.getMap('meta').get('title')).toBe('exported')
  })

  test(`[S112] an import the board rules refuse stores nothing and says why (${name})`, async () => {
    const { cli, s } = await setup()
    const bad = path.join(s.dataDir, 'bad.tldr')
    const schema = createTLSchema().serialize()
    const shape = { ...geoShape('shape:bad'), props: { ...geoShape().props, w: 'wide' } }
    fs.writeFileSync(bad, JSON.stringify({ tldrawFileFormatVersion: 1, schema, records: [shape] }))
    const refused = await run(['import', bad], cli)
    expect(refused.code).toBe(1)
    expect(refused.err).toContain('the file was not imported')
    const page = { id: 'page:page', typeName: 'page', name: 'Page 1', index: 'a1', meta: {} }
    const doc = { id: 'document:document', typeName: 'document', gridSize: 10, name: '', meta: {} }
    fs.writeFileSync(bad, JSON.stringify({ tldrawFileFormatVersion: 1, schema, records: [doc, page, shape] }))
    const rules = await run(['import', bad], cli)
    expect(rules.code).toBe(1)
    expect(rules.err).toContain('the board rules refuse it: shape:bad: invalid shape')
    expect(JSON.parse((await run(['list', '--json'], cli)).out || '[]')).toEqual([])
    expect((await run(['import', path.join(s.dataDir, 'none.tldr')], cli)).err).toContain('could not read')
  })

  test(`[S113] [S114] delete closes a connected stock client with 4410 and refuses joins; undelete lets it back in, content intact (${name})`, async () => {
    const { s, cli, store } = await setup()
    const c = await drawnBoard(s, cli, 'adminDelete')
    // On PostgreSQL, a second instance with a client of its own hears of it too (no bus: each reads the catalog).
    const other = store.DATABASE_URL ? await scope.server({ ...fast, ...store }) : null
    const c2 = other ? scope.client(other, 'adminDelete') : null
    if (c2) await waitFor(() => c2.provider.synced, 'the client of the second instance')
    const closes: Array<{ code: number; reason: string }> = []
    c.provider.on('closed', (event: { code: number; reason: string }) => closes.push(event))
    const closes2: number[] = []
    c2?.provider.on('closed', (event: { code: number }) => closes2.push(event.code))

    const deleted = await run(['delete', 'adminDelete'], cli)
    expect(deleted.code, deleted.err).toBe(0)
    expect(deleted.out).toContain('the board is in the trash')
    await waitFor(() => closes.length > 0, 'the client to be closed')
    expect(closes[0]).toEqual({ code: 4410, reason: BOARD_DELETED_MESSAGE })
    if (c2) await waitFor(() => closes2.includes(4410), 'the second instance’s client to be closed')
    // It may not come back, and nobody new gets in.
    c.provider.connect()
    await waitFor(() => closes.length > 1, 'a rejoin to be refused')
    expect(closes[1]!.code).toBe(4410)
    const fresh = scope.raw(s, 'adminDelete')
    expect(await fresh.closed).toEqual({ code: 4410, reason: BOARD_DELETED_MESSAGE })
    expect(fresh.frames).toEqual([])
    expect((await run(['delete', 'adminDelete'], cli)).err).toContain('in the trash already')
    const listed = JSON.parse((await run(['list', '--json'], cli)).out) as Array<{ id: string; deletedAt: string | null }>
    expect(listed.find((b) => b.id === 'adminDelete')?.deletedAt).toMatch(/^\d{4}-/)

    const before = recordsOf(c.doc)
    const undeleted = await run(['undelete', 'adminDelete'], cli)
    expect(undeleted.code, undeleted.err).toBe(0)
    const again = scope.client(s, 'adminDelete')
    await waitFor(() => again.provider.synced, 'a fresh client to join again')
    expect(recordsOf(again.doc)).toEqual(before)
    c.provider.connect()
    await waitFor(() => c.provider.synced, 'the closed client to rejoin')
    records(c.doc).set('shape:after', geoShape('shape:after'))
    await waitFor(() => records(again.doc).has('shape:after'), 'an edit after undelete to reach the others')
    expect((await run(['undelete', 'adminDelete'], cli)).err).toContain('not in the trash')
  })

  test(`[S113] a joiner of a deleted board that sent its first frames before the refusal is closed at once, and frees what they held (${name})`, async () => {
    const { s, cli } = await setup()
    ;(await drawnBoard(s, cli, 'adminEager')).destroy()
    await waitFor(() => s.sync.rooms.get('adminEager') === undefined, 'the board to unload')
    expect((await run(['delete', 'adminEager'], cli)).code).toBe(0)
    // Loading the board (to find it deleted) takes a query: these frames arrive and wait for it.
    for (let i = 0; i < 5; i++) {
      const eager = scope.raw(s, 'adminEager')
      eager.ws.on('open', () => {
        eager.send(encodeSyncStep1(Uint8Array.of(0)))
        eager.send(encodeSyncStep1(Uint8Array.of(0)))
      })
      expect(await eager.closed).toEqual({ code: 4410, reason: BOARD_DELETED_MESSAGE })
    }
    await waitFor(() => s.sync.inflight.inUse === 0, 'the held frames to leave the in-flight budget')
  })

  test(`[S115] purge: the log, the versions and the images only it used are gone; an image another board uses stays (${name})`, async () => {
    const { s, cli, store } = await setup()
    const shared = putImage(s.dataDir, 'shared')
    const own = putImage(s.dataDir, 'own')
    const inVersion = putImage(s.dataDir, 'in a version')
    const doomed = await drawnBoard(s, cli, 'adminPurge', [
      ...imageRecords(shared, 1),
      ...imageRecords(own, 2),
      ...imageRecords(inVersion, 4),
    ])
    const keeper = await drawnBoard(s, cli, 'adminKeeper', imageRecords(shared, 3))
    // A board that had the image once: only one of its versions still names it (restoring it would bring it back).
    const former = await drawnBoard(s, cli, 'adminFormer', imageRecords(inVersion, 5))
    former.doc.transact(() => {
      records(former.doc).delete('shape:image5')
      records(former.doc).delete('asset:img5')
    })
    await waitFor(() => s.sync.rooms.get('adminFormer')?.doc.getArray('records').length === 3, 'the image to be removed')
    former.destroy()
    await waitFor(() => s.sync.rooms.get('adminFormer') === undefined, 'the board to unload (and compact)')
    expect((await run(['purge', 'adminPurge'], cli)).err).toContain('not in the trash: delete it first')

    // Its preview, as a browser would have uploaded it.
    const preview = previewFile(path.join(s.dataDir, 'previews'), 'adminPurge')
    fs.mkdirSync(path.dirname(preview), { recursive: true })
    fs.writeFileSync(preview, 'a preview')
    doomed.destroy()
    const deleting = Date.now()
    expect((await run(['delete', 'adminPurge'], cli)).code).toBe(0)
    const purged = await run(['purge', 'adminPurge'], cli)
    expect(purged.code, purged.err).toBe(0)
    // It waits for running servers (two BOARD_CHECK_INTERVAL_MS and 2 s after the delete)
    // and says so, unless starting the command took that long already.
    if (!purged.err.includes('so running servers have closed the board before it is purged')) {
      expect(Date.now() - deleting).toBeGreaterThanOrEqual(2 * 200 + 2000)
    }
    expect(purged.out).toMatch(/purged the board, [1-9]\d* versions? and 1 image only it used \(2 images other boards use too kept\)/)

    expect(fs.existsSync(path.join(s.dataDir, 'assets', own))).toBe(false)
    expect(fs.existsSync(path.join(s.dataDir, 'assets', shared))).toBe(true)
    expect(fs.existsSync(path.join(s.dataDir, 'assets', inVersion))).toBe(true)
    expect(fs.existsSync(preview)).toBe(false)
    expect((await run(['show', 'adminPurge'], cli)).err).toContain('there is no board with that id')
    const direct: Store = store.DATABASE_URL
      ? new PostgresStore({ url: DATABASE_URL, schema: store.DATABASE_SCHEMA })
      : new SqliteStore({ file: path.join(s.dataDir, 'sketchroom.db'), checkpointIntervalMs: 0 })
    scope.defer(() => direct.close())
    // adminFormer's log no longer names the image: its version is what kept it.
    const formerLog = await direct.catalog.logEntries('adminFormer')
    expect(formerLog.some((entry) => Buffer.from(entry).includes(inVersion))).toBe(false)
    expect(await direct.load('adminPurge')).toBeNull()
    expect(await direct.catalog.versions('adminPurge')).toEqual([])
    expect(await direct.catalog.board('adminPurge')).toBeNull()
    // Nothing of it comes back from the server that had it open.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await direct.catalog.board('adminPurge')).toBeNull()
    expect(await direct.load('adminPurge')).toBeNull()
    expect(records(keeper.doc).has('shape:image3')).toBe(true)
  })

  test(`[S116] a second purge, or an undelete, of a board being purged is refused at once with a clear message (${name})`, async () => {
    const { s, cli } = await setup()
    ;(await drawnBoard(s, cli, 'adminBusy')).destroy()
    expect((await run(['delete', 'adminBusy'], cli)).code).toBe(0)
    let waiting = false
    // Its wait for running servers (two BOARD_CHECK_INTERVAL_MS of its own, and 2 s) holds the lock for 14 s,
    // far longer than the two commands below take to start and ask for it.
    const first = boards(
      ['purge', 'adminBusy'],
      { ...cli, BOARD_CHECK_INTERVAL_MS: '6000' },
      (err) => (waiting ||= err.includes('waiting')),
    )
    await waitFor(() => waiting, 'the first purge to hold the board')
    const [second, undelete] = await Promise.all([run(['purge', 'adminBusy'], cli), run(['undelete', 'adminBusy'], cli)])
    expect(first.child.exitCode).toBeNull()
    expect(second.code).toBe(3)
    expect(second.err).toContain('boards: another operation on this board is running')
    if (name === 'SQLite') expect(second.err).toContain(`purge (process ${first.child.pid}`)
    expect(undelete.code).toBe(3)
    expect(undelete.err).toContain('another operation on this board is running')
    expect((await first.done).code).toBe(0)
    expect((await run(['show', 'adminBusy'], cli)).err).toContain('there is no board with that id')
    // Released: the next operation on the board id is not refused as busy.
    expect((await run(['delete', 'adminBusy'], cli)).code).toBe(1)
  })
})

describe.each(STORES)('[S117] [S118] [S119] the server’s board sweep on $name', ({ name, env: storeEnv }) => {
  test(`retention moves boards nobody opened to the trash (never one open now), trash expiry purges them; logged by tag and counted (${name})`, async () => {
    const lines: string[] = []
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString())
          done()
        },
      }),
    )
    // 0.00002 days: 1.7 s.
    const env: Record<string, string> = {
      BOARD_CHECK_INTERVAL_MS: '200',
      VERSION_AFTER_QUIET_MS: '100',
      BOARD_RETENTION_DAYS: '0.00002',
      BOARD_TRASH_DAYS: '0.00002',
      ...storeEnv(),
    }
    const dataDir = tempDir()
    const store: Store = env.DATABASE_URL
      ? new PostgresStore({ url: DATABASE_URL, schema: env.DATABASE_SCHEMA })
      : new SqliteStore({ file: path.join(dataDir, 'sketchroom.db') })
    if (store instanceof PostgresStore) await store.migrate()
    const s = await scope.server({ ...env, DATA_DIR: dataDir }, { logger, store })
    const catalog = store.catalog
    const idle = scope.client(s, 'sweepIdle')
    const busy = scope.client(s, 'sweepOpen')
    await waitFor(() => idle.provider.synced && busy.provider.synced, 'clients to sync')
    seedBoard(idle.doc)
    seedBoard(busy.doc)
    await waitFor(async () => (await catalog.board('sweepIdle'))?.shapes === 3, 'the idle board in the catalog')
    idle.destroy()
    await waitFor(() => s.sync.rooms.get('sweepIdle') === undefined, 'the idle board to unload')

    await waitFor(async () => ((await s.sweepBoards())?.trashed ?? []).includes('sweepIdle'), 'retention to trash the idle board', 15_000)
    expect((await catalog.board('sweepIdle'))?.deletedAt).not.toBeNull()
    expect((await catalog.board('sweepOpen'))?.deletedAt).toBeNull()
    const refused = scope.raw(s, 'sweepIdle')
    expect((await refused.closed).code).toBe(4410)

    await waitFor(async () => ((await s.sweepBoards())?.purged ?? []).includes('sweepIdle'), 'trash expiry to purge it', 15_000)
    expect(await catalog.board('sweepIdle')).toBeNull()
    expect(await catalog.board('sweepOpen')).not.toBeNull()
    expect(busy.provider.wsconnected).toBe(true)

    const metrics = await (await fetch(`${s.url}/metrics`)).text()
    expect(metrics).toMatch(/^sketchroom_boards_trashed_total [1-9]/m)
    expect(metrics).toMatch(/^sketchroom_boards_purged_total [1-9]/m)
    expect(metrics).toMatch(/^sketchroom_board_sweeps_total [1-9]/m)
    expect(metrics).toMatch(/^sketchroom_board_sweep_errors_total 0/m)
    const log = lines.join('')
    expect(log).toContain('board moved to the trash: nobody opened it for BOARD_RETENTION_DAYS')
    expect(log).toContain('board purged: in the trash longer than BOARD_TRASH_DAYS')
    expect(log).toContain(`"room":"${s.sync.tagRoom('sweepIdle')}"`)
    for (const text of [log, metrics]) expect(text).not.toContain('sweepIdle')
  })
})

describe('[S119] board settings', () => {
  test('a bad BOARD_* value stops start-up naming it', () => {
    for (const [key, value] of [
      ['BOARD_TRASH_DAYS', 'soon'],
      ['BOARD_TRASH_DAYS', '-1'],
      ['BOARD_RETENTION_DAYS', '0'],
      ['BOARD_CHECK_INTERVAL_MS', '5'],
      ['BOARD_SWEEP_INTERVAL_MS', 'hourly'],
    ]) {
      expect(() => loadConfig({ [key!]: value })).toThrow(ConfigError)
      expect(() => loadConfig({ [key!]: value })).toThrow(new RegExp(`^invalid environment variable ${key}=`))
    }
    const config = loadConfig({ BOARD_RETENTION_DAYS: '90', BOARD_TRASH_DAYS: '0.5' })
    expect(config.BOARD_RETENTION_DAYS).toBe(90 * 86_400_000)
    expect(config.BOARD_TRASH_DAYS).toBe(43_200_000)
    expect(loadConfig({}).BOARD_RETENTION_DAYS).toBeUndefined()
    expect(loadConfig({ BOARD_RETENTION_DAYS: 'off' }).BOARD_RETENTION_DAYS).toBeUndefined()
    expect(loadConfig({}).BOARD_TRASH_DAYS).toBe(30 * 86_400_000)
  })
})
