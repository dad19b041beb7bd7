/**
 * A store that cannot save says so, loses nothing and recovers ([S32]–[S34]): a real full
 * disk (a tmpfs as DATA_DIR, filled by drawing, then grown) and PostgreSQL cut mid-session.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { MessageType } from '../../lib/protocol'
import { encodeSyncStep1, parseMessage } from '../../server/protocol/messages'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { geoShape, records, seedBoard } from '../abuse/board'
import { hostAndPort, startTcpProxy, viaProxy } from '../multi/tcpProxy'
import { connectClient, sleep, startTestServer, synced, tempDir, type TestClient, type TestServer, testScope, waitFor } from '../helpers'

const { defer } = testScope()
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const isRoot = process.getuid?.() === 0

const shapeIds = (doc: Y.Doc) => [...records(doc).map.keys()].filter((k) => k.startsWith('shape:'))

/** Draws `count` shapes in one transaction, ~900 bytes each. */
function draw(c: TestClient, prefix: string, count: number): string[] {
  const kv = records(c.doc)
  const ids = Array.from({ length: count }, (_, i) => `shape:${prefix}-${i}`)
  c.doc.transact(() => {
    for (const id of ids) kv.set(id, geoShape(id, { url: `https://example.test/${id}/${'p'.repeat(400)}` }))
  })
  return ids
}

function closesOf(c: TestClient): Array<{ code: number; reason: string }> {
  const closes: Array<{ code: number; reason: string }> = []
  c.provider.on(
    'connection-close',
    (event: { code: number; reason: string } | null) => event && closes.push({ code: event.code, reason: event.reason }),
  )
  return closes
}

/** A raw socket that asked for Status messages; records what it is told. */
async function statusWatcher(s: TestServer, room: string) {
  const ws = new WebSocket(`${s.wsUrl}/${room}?features=status`)
  defer(() => ws.terminate())
  const statuses: string[] = []
  ws.on('message', (data: Buffer) => {
    const bytes = new Uint8Array(data)
    if (bytes[0] === MessageType.Status) statuses.push(new TextDecoder().decode(bytes.subarray(2)))
    else void parseMessage(bytes)
  })
  await new Promise((resolve) => ws.once('open', resolve))
  ws.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
  return statuses
}

const health = async (s: TestServer) => {
  const res = await fetch(`http://127.0.0.1:${s.port}/healthz`)
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } }
}

const metric = async (s: TestServer, name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
}

describe('[S32] a store that cannot save', () => {
  test.skipIf(!isRoot)(
    'a full disk while two people draw: the writer is told, nothing is lost, and once the disk grows the board is complete after a restart',
    async () => {
      const dir = tempDir('sketchroom-fulldisk-')
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir])
      defer(() => execFileSync('umount', ['-l', dir]))
      const env = { DATA_DIR: dir, COMPACT_AFTER_BYTES: String(512 * 1024) }
      let s = await startTestServer(env)
      defer(() => s.close())
      const writer = connectClient(s.wsUrl, 'room-full')
      const other = connectClient(s.wsUrl, 'room-full')
      defer(() => writer.destroy())
      defer(() => other.destroy())
      const writerCloses = closesOf(writer)
      await synced(writer, other)
      writer.doc.transact(() => seedBoard(writer.doc, []))
      const statuses = await statusWatcher(s, 'room-full')
      const drawn: string[] = []
      for (let batch = 0; batch < 200 && !writerCloses.some((c) => c.code === 1011); batch++) {
        drawn.push(...draw(writer, `b${batch}`, 60))
        await sleep(30)
      }
      expect(writerCloses.find((c) => c.code === 1011)?.reason).toMatch(/could not save/)
      await waitFor(() => statuses.includes('{"saving":"paused"}'), 'the watcher to hear saving is paused')
      const failing = await health(s)
      expect(failing.status).toBe(503)
      expect(failing.body.reason).toMatch(/SQLITE_FULL|disk/i)
      expect(await metric(s, 'sketchroom_store_append_errors_total')).toBeGreaterThan(0)
      // The writer keeps drawing while the disk is full: its changes stay in its document.
      drawn.push(...draw(writer, 'while-full', 20))
      await sleep(300)
      execFileSync('mount', ['-o', 'remount,size=96m', dir])
      await waitFor(async () => (await health(s)).status === 200, 'saving to resume', 30_000)
      await waitFor(() => statuses.includes('{"saving":"ok"}'), 'the watcher to hear saving works again')
      drawn.push(...draw(writer, 'after', 20))
      await waitFor(() => shapeIds(other.doc).length === drawn.length, 'every shape at the other person', 30_000)
      writer.destroy()
      other.destroy()
      await s.close()
      s = await startTestServer(env)
      const fresh = connectClient(s.wsUrl, 'room-full')
      defer(() => fresh.destroy())
      await waitFor(() => shapeIds(fresh.doc).length === drawn.length, 'every shape after a restart', 30_000)
      expect(new Set(shapeIds(fresh.doc))).toEqual(new Set(drawn))
    },
    120_000,
  )

  const schemas: string[] = []
  afterAll(async () => {
    for (const schema of schemas) {
      const store = new PostgresStore({ url: DATABASE_URL, schema })
      await store.dropSchema()
      await store.close()
    }
  })

  test('PostgreSQL cut mid-session: the writer is told and resends, /healthz says why, and the database ends with everything', async () => {
    const schema = `sketchroom_test_${randomBytes(6).toString('hex')}`
    schemas.push(schema)
    const { host, port } = hostAndPort(DATABASE_URL, 5432)
    const proxy = await startTcpProxy(host, port)
    defer(() => proxy.close())
    const s = await startTestServer({ DATABASE_URL: viaProxy(DATABASE_URL, proxy), DATABASE_SCHEMA: schema, DATABASE_TIMEOUT_MS: '1000' })
    defer(() => s.close())
    const writer = connectClient(s.wsUrl, 'room-pg-cut')
    const other = connectClient(s.wsUrl, 'room-pg-cut')
    defer(() => writer.destroy())
    defer(() => other.destroy())
    const writerCloses = closesOf(writer)
    await synced(writer, other)
    writer.doc.transact(() => seedBoard(writer.doc, []))
    const drawn = draw(writer, 'before', 20)
    await waitFor(() => shapeIds(other.doc).length === drawn.length, 'the first shapes at the other person')
    proxy.cut()
    drawn.push(...draw(writer, 'during', 20))
    await waitFor(() => writerCloses.some((c) => c.code === 1011), 'the writer to be told its change was not saved', 20_000)
    expect((await health(s)).status).toBe(503)
    // Nothing unsaved reached the other person.
    expect(shapeIds(other.doc).length).toBe(20)
    proxy.restore()
    await waitFor(async () => (await health(s)).status === 200, 'saving to resume', 30_000)
    await waitFor(() => shapeIds(other.doc).length === drawn.length, 'every shape at the other person', 30_000)
    const direct = new PostgresStore({ url: DATABASE_URL, schema })
    defer(() => direct.close())
    const stored = await direct.load('room-pg-cut')
    const doc = new Y.Doc()
    Y.applyUpdate(doc, stored!.update)
    expect(new Set(shapeIds(doc))).toEqual(new Set(drawn))
  })
})
