/**
 * "Reset links" ([S88], [S89]): a board's links can be revoked without rotating AUTH_SECRET.
 * After POST /api/links/reset every view, embed and edit token made before stops working on
 * every route and every instance, open sockets that came with one are closed, and the room
 * id itself (the board's edit key) keeps working.
 */
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { ASSET_BOARD_HEADER } from '../../lib/assets'
import { LINK_RESET_MESSAGE } from '../../lib/links'
import { TokenSigner } from '../../server/http/tokens'
import { encodeSyncStep1, encodeUpdate } from '../../server/protocol/messages'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { DATABASE_URL, ROOT, connectClient, rawClient, synced, testScope, waitFor } from '../helpers'

const { server, client, defer } = testScope()
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = 'a-secret-for-link-reset-tests'
const ROOM = 'linkResetBoard0000001'
// A 1×1 PNG: the smallest file the asset endpoint accepts.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')

const schemas: string[] = []
afterAll(async () => {
  for (const schema of schemas) {
    const store = new PostgresStore({ url: DATABASE_URL, schema })
    await store.dropSchema()
    await store.close()
  }
})

async function post(port: number, route: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const tokenOf = (page: unknown) => String(page).split('/').at(-1)!

/** A raw socket on a link that has finished its handshake and written one change. */
async function joinedWith(wsUrl: string, token: string) {
  const socket = rawClient(`${wsUrl}/${token}`)
  defer(() => socket.ws.terminate())
  await socket.opened
  socket.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
  await waitFor(() => socket.frames.length > 0, 'the server to answer the handshake')
  return socket
}

describe('[S88] reset links', () => {
  test('every earlier token stops working on every route; sockets that came with one are closed with 4401; the room id and new links work', async () => {
    const s = await server({ AUTH_SECRET: SECRET }, { assets: true })
    const writer = client(s, ROOM)
    await synced(writer)
    writer.doc.getArray('list').push(['drawn before the reset'])

    const before = await post(s.port, '/api/links', { roomId: ROOM })
    expect(before.status).toBe(200)
    const oldView = tokenOf(before.body.view)
    const oldEdit = new TokenSigner(SECRET).sign({ roomId: ROOM, mode: 'edit', expiresAt: null })
    // The same board's links, before: all of them work.
    expect((await fetch(`http://127.0.0.1:${s.port}/api/tokens/${oldView}`)).status).toBe(200)
    const viewer = await joinedWith(s.wsUrl, oldView)
    const editor = await joinedWith(s.wsUrl, oldEdit)

    const reset = await post(s.port, '/api/links/reset', { roomId: ROOM })
    expect(reset.status).toBe(200)
    expect(reset.body.generation).toBe(1)
    const newView = tokenOf(reset.body.view)
    expect(newView).not.toBe(oldView)

    // Open sockets of earlier links: closed, with the sentence to show.
    for (const socket of [viewer, editor]) expect(await socket.closed).toEqual({ code: 4401, reason: LINK_RESET_MESSAGE })
    // The room id's connection is untouched and still writes.
    writer.doc.getArray('list').push(['drawn after the reset'])
    const fresh = client(s, ROOM)
    await waitFor(() => fresh.doc.getArray('list').length === 2, 'a room-id client to see both changes')

    // Earlier tokens: refused on the socket, token info (410 with the reason), history, uploads and oEmbed.
    const again = rawClient(`${s.wsUrl}/${oldView}`)
    defer(() => again.ws.terminate())
    expect(await again.closed).toEqual({ code: 4401, reason: LINK_RESET_MESSAGE })
    const info = await fetch(`http://127.0.0.1:${s.port}/api/tokens/${oldView}`)
    expect(info.status).toBe(410)
    expect(await info.json()).toEqual({ error: LINK_RESET_MESSAGE })
    const history = await fetch(`http://127.0.0.1:${s.port}/api/boards/${oldEdit}/versions`)
    expect(history.status).toBe(410)
    const upload = await fetch(`http://127.0.0.1:${s.port}/api/assets`, {
      method: 'POST',
      body: PNG,
      headers: { [ASSET_BOARD_HEADER]: oldEdit },
    })
    expect(upload.status).toBe(401)
    expect(await upload.text()).toContain('reset')
    const oembed = await fetch(`http://127.0.0.1:${s.port}/api/oembed?url=${encodeURIComponent(`${s.url}/v/${oldView}`)}`)
    expect(oembed.status).toBe(404)

    // New links work: the socket sees the board, token info answers.
    expect((await fetch(`http://127.0.0.1:${s.port}/api/tokens/${newView}`)).status).toBe(200)
    const newViewer = connectClient(`${s.wsUrl}`, newView)
    defer(() => newViewer.destroy())
    await waitFor(() => newViewer.doc.getArray('list').length === 2, 'the new view link to show the board')
    // /api/links now hands out the new generation's link, the same one each time.
    expect(tokenOf((await post(s.port, '/api/links', { roomId: ROOM })).body.view)).toBe(newView)
    // The upload path with the room id still works (the edit key is not revoked).
    const byRoom = await fetch(`http://127.0.0.1:${s.port}/api/assets`, {
      method: 'POST',
      body: PNG,
      headers: { [ASSET_BOARD_HEADER]: ROOM },
    })
    expect(byRoom.status).toBe(201)
  })

  test('a second reset revokes the links of the first; `npm run token` signs links of the current generation; the reset survives a restart', async () => {
    let s = await server({ AUTH_SECRET: SECRET })
    const dataDir = s.dataDir
    const writer = client(s, ROOM)
    await synced(writer)
    writer.doc.getArray('list').push(['content'])
    const observer = client(s, ROOM)
    await waitFor(() => observer.doc.getArray('list').length === 1, 'the change to be stored and relayed')
    observer.destroy()
    const first = tokenOf((await post(s.port, '/api/links/reset', { roomId: ROOM })).body.view)
    const second = await post(s.port, '/api/links/reset', { roomId: ROOM })
    expect(second.body.generation).toBe(2)
    expect((await fetch(`http://127.0.0.1:${s.port}/api/tokens/${first}`)).status).toBe(410)
    writer.destroy()
    await s.close()

    const cli = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), '--room', ROOM, '--mode', 'view'], {
      cwd: ROOT,
      env: { ...process.env, AUTH_SECRET: SECRET, DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' },
      encoding: 'utf8',
    })
    expect(cli.stderr).toBe('')
    expect(cli.status).toBe(0)
    const printed = tokenOf(cli.stdout.trim())
    expect(new TokenSigner(SECRET).verify(printed).generation).toBe(2)

    s = await server({ AUTH_SECRET: SECRET, DATA_DIR: dataDir })
    expect((await fetch(`http://127.0.0.1:${s.port}/api/tokens/${first}`)).status).toBe(410)
    expect((await fetch(`http://127.0.0.1:${s.port}/api/tokens/${printed}`)).status).toBe(200)
    const viewer = connectClient(s.wsUrl, printed)
    defer(() => viewer.destroy())
    await waitFor(() => viewer.doc.getArray('list').length === 1, 'the printed link to open the board')
  })

  test('bad requests: GET, no JSON, a bad room id', async () => {
    const s = await server({ AUTH_SECRET: SECRET })
    expect((await fetch(`http://127.0.0.1:${s.port}/api/links/reset`)).status).toBe(405)
    const notJson = await fetch(`http://127.0.0.1:${s.port}/api/links/reset`, { method: 'POST', body: 'roomId=x' })
    expect(notJson.status).toBe(400)
    expect((await post(s.port, '/api/links/reset', { roomId: 'a b' })).status).toBe(400)
    expect((await post(s.port, '/api/links/reset', {})).body.error).toMatch(/roomId/)
  })
})

describe('[S89] reset links across instances', () => {
  test('a reset on one instance closes the old link sockets on another and refuses them there, although that instance had the room loaded', async () => {
    const schema = `sketchroom_test_${randomBytes(6).toString('hex')}`
    schemas.push(schema)
    const env = {
      AUTH_SECRET: SECRET,
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL,
      REDIS_PREFIX: `sketchroom-test-${randomBytes(4).toString('hex')}:`,
    }
    const a = await server(env)
    const b = await server(env)
    const writer = client(b, ROOM)
    await synced(writer)
    const doc = new Y.Doc()
    doc.getArray('list').push(['on b'])
    writer.doc.transact(() => Y.applyUpdate(writer.doc, Y.encodeStateAsUpdate(doc)))
    const oldView = tokenOf((await post(a.port, '/api/links', { roomId: ROOM })).body.view)
    const viewerOnB = await joinedWith(b.wsUrl, oldView)
    // The viewer's (refused) write keeps it a real client; it must not matter.
    viewerOnB.send(encodeUpdate(Y.encodeStateAsUpdate(new Y.Doc())))

    expect((await post(a.port, '/api/links/reset', { roomId: ROOM })).status).toBe(200)
    expect(await viewerOnB.closed).toEqual({ code: 4401, reason: LINK_RESET_MESSAGE })
    expect(b.sync.rooms.get(ROOM)).toBeDefined()
    const retry = rawClient(`${b.wsUrl}/${oldView}`)
    defer(() => retry.ws.terminate())
    expect(await retry.closed).toEqual({ code: 4401, reason: LINK_RESET_MESSAGE })
    expect((await fetch(`http://127.0.0.1:${b.port}/api/tokens/${oldView}`)).status).toBe(410)
  })
})
