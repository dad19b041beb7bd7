/**
 * Strangers, viewers and hostile editors ([S84]–[S87]): what a view-only socket or anyone
 * with a room id can send to make the server or every browser fall over, and what happens
 * instead. Each case ends with the board loading valid in a fresh client.
 */
import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { InProcessHub } from '../../server/bus/InProcessBus'
import { TokenSigner } from '../../server/http/tokens'
import { encodeAwareness, encodeSyncStep1, encodeUpdate } from '../../server/protocol/messages'
import { connectClient, rawClient, type RawClient, sleep, startTestServer, synced, testScope, type TestServer, waitFor } from '../helpers'
import { assertValidBoard, records, seedBoard } from './board'

const { defer } = testScope()
const SECRET = 'a-secret-for-hostile-editor-tests'

async function board(env: Record<string, string> = {}, options: Parameters<typeof startTestServer>[1] = {}) {
  const s = await startTestServer({ AUTH_SECRET: SECRET, ...env }, options)
  defer(() => s.close())
  const owner = connectClient(s.wsUrl, 'hostile-board')
  defer(() => owner.destroy())
  await synced(owner)
  seedBoard(owner.doc)
  await waitFor(() => (s.sync.rooms.get('hostile-board')?.doc.getArray('records').length ?? 0) >= 5, 'the seeded board')
  return { s, owner }
}

function raw(s: TestServer, path: string): RawClient {
  const r = rawClient(`${s.wsUrl}/${path}`)
  defer(() => r.ws.terminate())
  return r
}

async function handshake(r: RawClient): Promise<void> {
  await r.opened
  r.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
}

function entry(clientId: number, clock: number, state: unknown): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, clientId)
  encoding.writeVarUint(e, clock)
  encoding.writeVarString(e, JSON.stringify(state))
  return encoding.toUint8Array(e)
}

const user = (name: string) => ({ user: { id: `user:${name}`, name, color: '#ff0000' } })

async function loadsValid(s: TestServer): Promise<void> {
  const fresh = connectClient(s.wsUrl, 'hostile-board')
  defer(() => fresh.destroy())
  await synced(fresh)
  assertValidBoard(fresh.doc)
  expect(records(fresh.doc).has('shape:geo1')).toBe(true)
}

describe('[S84] one awareness client per connection', () => {
  test('[A84] a view-only socket announcing hundreds of thousands of client ids: closed with 4400, no phantoms, memory flat', async () => {
    const { s, owner } = await board()
    const view = new TokenSigner(SECRET).sign({ roomId: 'hostile-board', mode: 'view', expiresAt: null })
    const viewer = raw(s, view)
    await handshake(viewer)
    const rssBefore = process.memoryUsage().rss
    // Frames just under 2 MiB (MAX_MESSAGE_BYTES) of 25k small entries each, as the review's attack sent them.
    for (let frame = 0; frame < 8 && viewer.ws.readyState === viewer.ws.OPEN; frame++) {
      const entries = Array.from({ length: 25_000 }, (_, i) => entry(1_000_000 + frame * 25_000 + i, 1, user(`ghost${i}`)))
      viewer.send(encodeAwareness(entries))
      await sleep(50)
    }
    const closed = await viewer.closed
    expect(closed.code).toBe(4400)
    expect(closed.reason).toMatch(/awareness/)
    await sleep(200)
    // The owner sees itself and at most the viewer's one cursor, never 200 phantom users.
    expect(owner.provider.awareness.getStates().size).toBeLessThanOrEqual(2)
    expect(s.sync.rooms.get('hostile-board')!.awarenessClients).toBeLessThanOrEqual(3)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 2 ** 20)
    await loadsValid(s)
  })

  test('[A85] removals of clients a connection does not own are ignored: they neither accumulate nor count', async () => {
    const { s } = await board()
    const editor = raw(s, 'hostile-board')
    await handshake(editor)
    for (let round = 0; round < 20; round++) {
      const removals = Array.from({ length: 2000 }, (_, i) => {
        const e = encoding.createEncoder()
        encoding.writeVarUint(e, 5_000_000 + round * 2000 + i)
        encoding.writeVarUint(e, 7)
        encoding.writeVarString(e, 'null')
        return encoding.toUint8Array(e)
      })
      editor.send(encodeAwareness(removals))
    }
    await sleep(300)
    expect(editor.ws.readyState).toBe(editor.ws.OPEN)
    expect(s.sync.rooms.get('hostile-board')!.awarenessClients).toBeLessThanOrEqual(2)
    await loadsValid(s)
  })

  test('[A86] across instances a viewer cannot speak for a person on another instance', async () => {
    const hub = new InProcessHub()
    const a = await startTestServer({ AUTH_SECRET: SECRET, ANTI_ENTROPY_INTERVAL_MS: '200' }, { bus: hub.bus() })
    const b = await startTestServer({ AUTH_SECRET: SECRET, ANTI_ENTROPY_INTERVAL_MS: '200' }, { bus: hub.bus() })
    defer(() => a.close())
    defer(() => b.close())
    const ada = connectClient(a.wsUrl, 'shared')
    const bob = connectClient(b.wsUrl, 'shared')
    defer(() => ada.destroy())
    defer(() => bob.destroy())
    await synced(ada, bob)
    ada.provider.awareness.setLocalStateField('user', { id: 'user:ada', name: 'Ada', color: '#00f' })
    const adaId = ada.doc.clientID
    await waitFor(
      () => (bob.provider.awareness.getStates().get(adaId) as { user?: { name?: string } })?.user?.name === 'Ada',
      "Ada's name at Bob",
    )
    const view = new TokenSigner(SECRET).sign({ roomId: 'shared', mode: 'view', expiresAt: null })
    const mallory = raw(b, view)
    await handshake(mallory)
    await sleep(100)
    mallory.send(encodeAwareness([entry(adaId, 1000, user('Impostor'))]))
    await sleep(500)
    const nameAt = (c: typeof ada) => (c.provider.awareness.getStates().get(adaId) as { user?: { name?: string } })?.user?.name
    expect(nameAt(bob)).toBe('Ada')
    expect(nameAt(ada)).toBe('Ada')
  })
})

describe('[S86] Yjs client ids', () => {
  function manyClients(count: number, base: number): Uint8Array {
    const updates = Array.from({ length: count }, (_, i) => {
      const d = new Y.Doc()
      d.clientID = base + i
      d.getArray('spam').insert(0, [i])
      return Y.encodeStateAsUpdate(d)
    })
    return Y.mergeUpdates(updates)
  }

  test('[A87] one update bringing thousands of new client ids is refused with 4413, the board unchanged', async () => {
    const { s } = await board()
    const editor = raw(s, 'hostile-board')
    await handshake(editor)
    const clientsBefore = s.sync.rooms.get('hostile-board')!.doc.store.clients.size
    editor.send(encodeUpdate(manyClients(5000, 9_000_000)))
    const closed = await editor.closed
    expect(closed.code).toBe(4413)
    expect(closed.reason).toMatch(/new Yjs clients/)
    expect(s.sync.rooms.get('hostile-board')!.doc.store.clients.size).toBe(clientsBefore)
    await loadsValid(s)
  })

  test('[A88] a board holds at most MAX_CLIENTS_PER_BOARD client ids; who is known still edits', async () => {
    const { s, owner } = await board({ MAX_CLIENTS_PER_BOARD: '40', MAX_NEW_CLIENTS_PER_UPDATE: '16' })
    const editor = raw(s, 'hostile-board')
    await handshake(editor)
    for (let i = 0; i < 3; i++) editor.send(encodeUpdate(manyClients(16, 10_000_000 + i * 16)))
    const closed = await editor.closed
    expect(closed.code).toBe(4413)
    expect(closed.reason).toMatch(/MAX_CLIENTS_PER_BOARD/)
    expect(s.sync.rooms.get('hostile-board')!.doc.store.clients.size).toBeLessThanOrEqual(40)
    // The owner's client id is known: it keeps editing.
    owner.doc.getArray('notes').push(['still editing'])
    const watcher = connectClient(s.wsUrl, 'hostile-board')
    defer(() => watcher.destroy())
    await waitFor(() => watcher.doc.getArray('notes').length === 1, "the owner's edit after the cap")
  })
})

describe('[S87] nesting', () => {
  function nestedJson(depth: number): unknown {
    let value: unknown = 'bottom'
    for (let i = 0; i < depth; i++) value = { a: value }
    return value
  }

  test('[A89] a value nested thousands deep under another top-level type is refused with 4400; one within the limit is kept', async () => {
    const { s } = await board({ MAX_NESTING_DEPTH: '100' })
    const editor = raw(s, 'hostile-board')
    await handshake(editor)
    const deep = new Y.Doc()
    deep.getMap('elsewhere').set('x', nestedJson(4700))
    editor.send(encodeUpdate(Y.encodeStateAsUpdate(deep)))
    const closed = await editor.closed
    expect(closed.code).toBe(4400)
    expect(closed.reason).toMatch(/nests deeper than 100/)
    expect(s.sync.rooms.get('hostile-board')!.doc.getMap('elsewhere').size).toBe(0)
    const fine = connectClient(s.wsUrl, 'hostile-board')
    defer(() => fine.destroy())
    await synced(fine)
    fine.doc.getMap('elsewhere').set('ok', nestedJson(50))
    await waitFor(() => s.sync.rooms.get('hostile-board')!.doc.getMap('elsewhere').has('ok'), 'a value within the limit')
    await loadsValid(s)
  })

  test('[A90] shared types nested past the limit are taken out again for everyone; the board loads', async () => {
    const { s } = await board({ MAX_NESTING_DEPTH: '20' })
    const writer = connectClient(s.wsUrl, 'hostile-board')
    defer(() => writer.destroy())
    await synced(writer)
    writer.doc.transact(() => {
      let map = writer.doc.getMap('nest')
      for (let i = 0; i < 60; i++) {
        const child = new Y.Map()
        map.set('child', child)
        map = child
      }
    })
    await waitFor(() => {
      let depth = 0
      let map: Y.Map<unknown> | undefined = s.sync.rooms.get('hostile-board')!.doc.getMap('nest')
      while (map) {
        depth++
        map = map.get('child') as Y.Map<unknown> | undefined
      }
      return depth > 1 && depth <= 21
    }, 'the deep part to be removed on the server')
    await loadsValid(s)
  })
})

describe('[S85] records entries', () => {
  test('[A91] entries of records that are not { key, val } are removed for everyone; the board loads', async () => {
    const { s, owner } = await board()
    const editor = raw(s, 'hostile-board')
    await handshake(editor)
    const hostile = new Y.Doc()
    Y.applyUpdate(hostile, Y.encodeStateAsUpdate(owner.doc))
    const before = Y.encodeStateVector(hostile)
    hostile.getArray('records').push([null, 42, { key: 'no-value' }, { val: 'no-key' }])
    hostile.getArray('records').push([new Y.Map()])
    editor.send(encodeUpdate(Y.encodeStateAsUpdate(hostile, before)))
    await sleep(300)
    const entries = s.sync.rooms.get('hostile-board')!.doc.getArray('records').toArray()
    expect(entries.every((e) => typeof e === 'object' && e !== null && typeof (e as { key?: unknown }).key === 'string')).toBe(true)
    await loadsValid(s)
  })
})
