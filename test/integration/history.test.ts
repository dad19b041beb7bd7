/**
 * Board history ([S90]–[S94]): versions taken after quiet spells and kept across
 * restarts, listed and read over the API, restored as one ordinary change everyone sees,
 * and closed to view-only links.
 */
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { MessageType } from '../../lib/protocol'
import { encodeSyncStep1 } from '../../server/protocol/messages'
import { TokenSigner } from '../../server/http/tokens'
import { geoShape, records, schema, seedBoard } from '../abuse/board'
import { InProcessHub } from '../../server/bus/InProcessBus'
import {
  connectClient,
  postgresSchemas,
  spawnServer,
  synced,
  tempDir,
  type TestClient,
  testScope,
  type TestServer,
  waitFor,
} from '../helpers'

const { server, client, defer } = testScope()
const schemas = postgresSchemas('sketchroom_history')
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SECRET = 'a-secret-for-history-tests-only'
const QUIET = { AUTH_SECRET: SECRET, VERSION_AFTER_QUIET_MS: '300', VERSION_EVERY_MS: '5000' }

interface VersionJson {
  id: string
  createdAt: number
  reason: string
  name?: string
  shapes: number
  bytes: number
  editors: string[]
}

const api = (port: number, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}/api/boards/${path}`, init)
const post = (port: number, path: string, body: unknown) =>
  api(port, path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
const versionsOf = async (port: number, board: string) =>
  ((await (await api(port, `${board}/versions`)).json()) as { versions: VersionJson[] }).versions

const shapeIds = (c: TestClient) => [...records(c.doc).map.keys()].filter((k) => k.startsWith('shape:')).sort()

/** A raw socket that asked for Status messages (as the app does): the ones it is told, parsed. */
async function statusWatcher(s: TestServer, room: string): Promise<unknown[]> {
  const ws = new WebSocket(`${s.wsUrl}/${room}?features=status`)
  defer(() => ws.terminate())
  const statuses: unknown[] = []
  ws.on('message', (data: Buffer) => {
    const bytes = new Uint8Array(data)
    if (bytes[0] === MessageType.Status) statuses.push(JSON.parse(new TextDecoder().decode(bytes.subarray(2))))
  })
  await new Promise((resolve) => ws.once('open', resolve))
  ws.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
  return statuses
}

function draw(c: TestClient, ids: string[]): void {
  const kv = records(c.doc)
  c.doc.transact(() => {
    for (const id of ids) kv.set(id, geoShape(id))
  })
}

async function boardWithShapes(s: TestServer, room: string) {
  const a = client(s, room)
  const b = client(s, room)
  await synced(a, b)
  a.provider.awareness.setLocalStateField('user', { id: 'user:ada', name: 'Ada', color: '#00f' })
  seedBoard(a.doc, [])
  draw(a, ['shape:one', 'shape:two', 'shape:three'])
  await waitFor(() => shapeIds(b).length === 3, 'the shapes at B')
  return { a, b }
}

describe('[S90] versions', () => {
  test('a version appears after the quiet time, with its shapes, size and the editors’ self-chosen names', async () => {
    const s = await server(QUIET)
    await boardWithShapes(s, 'history-room')
    await waitFor(async () => (await versionsOf(s.port, 'history-room')).length === 1, 'the first version')
    const [version] = await versionsOf(s.port, 'history-room')
    expect(version).toMatchObject({ reason: 'quiet', shapes: 3, editors: ['Ada'] })
    expect(version!.bytes).toBeGreaterThan(1000)
    expect(Object.keys(version!).sort()).toEqual(['bytes', 'createdAt', 'editors', 'id', 'reason', 'shapes'])
    // Nothing changed since: no second version, however long it stays quiet.
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(await versionsOf(s.port, 'history-room')).toHaveLength(1)
    const detail = (await (await api(s.port, `history-room/versions/${version!.id}`)).json()) as {
      records: Array<{ id: string; typeName: string }>
    }
    expect(detail.records.map((r) => r.id).sort()).toEqual(['document:document', 'page:page', 'shape:one', 'shape:three', 'shape:two'])
  })

  test('[S96] a version read over the API carries the tldraw schema its records were written with', async () => {
    const s = await server(QUIET)
    await boardWithShapes(s, 'schema-room')
    await waitFor(async () => (await versionsOf(s.port, 'schema-room')).length === 1, 'the first version')
    const [version] = await versionsOf(s.port, 'schema-room')
    const detail = (await (await api(s.port, `schema-room/versions/${version!.id}`)).json()) as { schema: unknown }
    // What the board's writer put in meta.schema, so a browser can migrate an older version before showing it.
    expect(detail.schema).toEqual(JSON.parse(JSON.stringify(schema.serialize())))
  })

  test('[S91] restore brings everything back to everyone, as one change; restoring "before restore" undoes it', async () => {
    const s = await server(QUIET)
    const { a, b } = await boardWithShapes(s, 'restore-room')
    await waitFor(async () => (await versionsOf(s.port, 'restore-room')).length === 1, 'the first version')
    const [good] = await versionsOf(s.port, 'restore-room')
    // Someone selects all and deletes.
    const kv = records(b.doc)
    b.doc.transact(() => shapeIds(b).forEach((id) => kv.delete(id)))
    await waitFor(() => shapeIds(a).length === 0, 'the deletion at A')
    const res = await post(s.port, `restore-room/versions/${good!.id}/restore`, { by: 'Bob' })
    expect(res.status).toBe(200)
    const { before, restored } = (await res.json()) as { before: string; restored: string }
    expect(before).toBeTruthy()
    expect(restored).toBeTruthy()
    const all = ['shape:one', 'shape:three', 'shape:two']
    await waitFor(() => shapeIds(a).join() === all.join() && shapeIds(b).join() === all.join(), 'the shapes back at A and B')
    const fresh = client(s, 'restore-room')
    await synced(fresh)
    await waitFor(() => shapeIds(fresh).join() === all.join(), 'the shapes for a fresh client')
    const list = await versionsOf(s.port, 'restore-room')
    expect(list.map((v) => v.reason).slice(0, 2)).toEqual(['restored', 'before-restore'])
    // The "before restore" version is the deleted board: restoring it deletes them again.
    expect((await post(s.port, `restore-room/versions/${before}/restore`, {})).status).toBe(200)
    await waitFor(() => shapeIds(a).length === 0 && shapeIds(b).length === 0, 'the undo of the restore at A and B')
  })

  test('[S92] a named version of the board as it is now; it is kept', async () => {
    const s = await server(QUIET)
    await boardWithShapes(s, 'named-room')
    const res = await post(s.port, 'named-room/versions', { name: 'Kick-off' })
    expect(res.status).toBe(201)
    const { version } = (await res.json()) as { version: VersionJson }
    expect(version).toMatchObject({ reason: 'named', name: 'Kick-off', shapes: 3 })
    expect((await versionsOf(s.port, 'named-room'))[0]).toMatchObject({ name: 'Kick-off' })
    expect((await post(s.port, 'named-room/versions', { name: '' })).status).toBe(400)
    expect((await post(s.port, 'named-room/versions', { name: 'x'.repeat(101) })).status).toBe(400)
  })

  test('[S93] the history is the edit capability’s: a view token gets 403 on every route, an edit token works, no board leaks another’s', async () => {
    const s = await server(QUIET)
    await boardWithShapes(s, 'private-room')
    await waitFor(async () => (await versionsOf(s.port, 'private-room')).length === 1, 'the first version')
    const [version] = await versionsOf(s.port, 'private-room')
    const signer = new TokenSigner(SECRET)
    const view = signer.sign({ roomId: 'private-room', mode: 'view', expiresAt: null })
    const edit = signer.sign({ roomId: 'private-room', mode: 'edit', expiresAt: null })
    for (const res of [
      await api(s.port, `${view}/versions`),
      await api(s.port, `${view}/versions/${version!.id}`),
      await post(s.port, `${view}/versions`, { name: 'sneaky' }),
      await post(s.port, `${view}/versions/${version!.id}/restore`, {}),
    ]) {
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: string }).error).toMatch(/view-only/)
    }
    expect((await versionsOf(s.port, edit)).map((v) => v.id)).toEqual([version!.id])
    // The id of this board's version means nothing on another board.
    expect((await api(s.port, `other-room/versions/${version!.id}`)).status).toBe(404)
    expect((await post(s.port, `other-room/versions/${version!.id}/restore`, {})).status).toBe(404)
    expect(await versionsOf(s.port, 'other-room')).toEqual([])
  })
})

describe('[S94] versions are durable', () => {
  test('versions survive SIGTERM and kill -9, with the log under them', async () => {
    const dataDir = tempDir()
    const env = { DATA_DIR: dataDir, ...QUIET }
    let child = await spawnServer(env)
    defer(() => child.child.kill('SIGKILL'))
    const wsUrl = `ws://127.0.0.1:${child.port}/sync`
    const writer = connectClient(wsUrl, 'durable-history')
    defer(() => writer.destroy())
    await synced(writer)
    seedBoard(writer.doc, [])
    draw(writer, ['shape:a', 'shape:b'])
    await waitFor(async () => (await versionsOf(child.port, 'durable-history')).length === 1, 'the first version')
    child.child.kill('SIGKILL')
    await child.exited
    writer.destroy()
    child = await spawnServer(env)
    const afterKill = await versionsOf(child.port, 'durable-history')
    expect(afterKill).toHaveLength(1)
    const named = await post(child.port, 'durable-history/versions', { name: 'before SIGTERM' })
    expect(named.status).toBe(201)
    child.child.kill('SIGTERM')
    expect((await child.exited).code).toBe(0)
    child = await spawnServer(env)
    const list = await versionsOf(child.port, 'durable-history')
    expect(list.map((v) => v.name ?? v.reason)).toEqual(['before SIGTERM', 'quiet'])
    const detail = (await (await api(child.port, `durable-history/versions/${list[1]!.id}`)).json()) as { records: Array<{ id: string }> }
    expect(detail.records.map((r) => r.id)).toEqual(expect.arrayContaining(['shape:a', 'shape:b']))
  })
})

describe('[S94] history across instances', () => {
  test('[S97] a version taken on one instance is listed and restored on another; the first instance’s people see it and are told who restored it', async () => {
    const hub = new InProcessHub()
    const env = { ...QUIET, DATABASE_URL, DATABASE_SCHEMA: schemas.next(), ANTI_ENTROPY_INTERVAL_MS: '200' }
    const a = await server(env, { bus: hub.bus() })
    const b = await server(env, { bus: hub.bus() })
    const { a: ada } = await boardWithShapes(a, 'shared-history')
    await waitFor(async () => (await versionsOf(a.port, 'shared-history')).length === 1, 'a version on instance A')
    const [version] = await versionsOf(b.port, 'shared-history')
    expect(version?.shapes).toBe(3)
    const kv = records(ada.doc)
    ada.doc.transact(() => shapeIds(ada).forEach((id) => kv.delete(id)))
    await waitFor(() => shapeIds(ada).length === 0, 'the deletion')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const onA = await statusWatcher(a, 'shared-history')
    const onB = await statusWatcher(b, 'shared-history')
    await waitFor(() => onA.length > 0 && onB.length > 0, 'both watchers to be told the saving state')
    expect((await post(b.port, `shared-history/versions/${version!.id}/restore`, { by: 'Bob' })).status).toBe(200)
    await waitFor(() => shapeIds(ada).length === 3, 'the restore, made on B, at A', 15_000)
    // [S97] Who restored which version is told on both instances, not only where it was made.
    const told = { restored: { by: 'Bob', versionCreatedAt: version!.createdAt } }
    await waitFor(() => onB.some((m) => JSON.stringify(m) === JSON.stringify(told)), 'the announcement on B')
    await waitFor(() => onA.some((m) => JSON.stringify(m) === JSON.stringify(told)), 'the announcement on A, over the bus', 15_000)
  })
})
