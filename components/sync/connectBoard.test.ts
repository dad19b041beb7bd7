// @vitest-environment node
// connectBoard without React or a browser: the real server in this process, `ws` for the
// socket, no local copy (no IndexedDB in Node) and no online/offline events.
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import { synced, testScope, waitFor, sleep, type TestServer } from '../../test/helpers'
import { bindStoreToDoc, recordsOf } from './bindStore'
import type { BoardEvent } from '@/lib/protocol'
import { connectBoard, type BoardState } from './connectBoard'
import { startFakeSyncServer, statusFrame } from './fakeSyncServer'
import { editorRecords, geo, newStore } from './testStore'

const scope = testScope()

/** A `ws` WebSocket that remembers every socket y-websocket opens with it. */
function socketLog() {
  const sockets: WebSocket[] = []
  class LoggedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      sockets.push(this)
    }
  }
  // y-websocket's types want the DOM WebSocket; ws implements the same surface.
  return { sockets, WebSocket: LoggedWebSocket as unknown as typeof globalThis.WebSocket }
}

/** Opens a board on `room` and records, at each report, its state and the shapes it shows. */
function open(server: { url: string }, room: string, network: EventTarget | null = null) {
  const log = socketLog()
  const reports: Array<{ state: BoardState; shapes: string[] }> = []
  const events: BoardEvent[] = []
  const board = connectBoard(
    {
      room,
      origin: server.url,
      WebSocket: log.WebSocket,
      persistence: false,
      network,
      serverWaitMs: 30_000,
      onEvent: (event) => events.push(event),
    },
    (state) => {
      const shapes = state.status === 'synced' ? state.store.allRecords().filter((r) => r.typeName === 'shape') : []
      reports.push({ state, shapes: shapes.map((s) => s.id) })
    },
  )
  scope.defer(() => board.dispose())
  const latest = () => reports.at(-1)?.state
  const whenSynced = async () => {
    await waitFor(() => latest()?.status === 'synced', 'the board to sync')
    const state = latest()
    if (state?.status !== 'synced') throw new Error('unreachable')
    return state
  }
  return { board, reports, events, latest, whenSynced, sockets: log.sockets }
}

/**
 * What keeps this process alive besides the server's listening socket and vitest's pipes:
 * timers, TCP sockets and message ports (a BroadcastChannel). Unref'd timers do not count.
 */
function keepingAlive(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout' || kind === 'TCPSocketWrap' || kind === 'MessagePort')
}

function connectionsOf(server: TestServer): number {
  return server.sync.health().connections
}

describe('connectBoard', () => {
  test('reaches synced showing what the server has', async () => {
    const s = await scope.server()
    // A stock client draws a rectangle and leaves; a fresh one proves the server kept it.
    const writer = scope.client(s, 'seeded-room')
    await synced(writer)
    const drawn = newStore()
    bindStoreToDoc(drawn, writer.doc, { onOutdated: () => undefined })
    const shape = geo(drawn, 42)
    drawn.put([shape])
    const reader = scope.client(s, 'seeded-room')
    await waitFor(() => recordsOf(reader.doc).get(shape.id) !== undefined, 'the server to have the shape')

    const board = open(s, 'seeded-room')
    const state = await board.whenSynced()
    expect(board.reports.find((r) => r.state.status === 'synced')?.shapes).toEqual([shape.id])
    expect(state.connection).toBe('online')
    expect(state.store.get(shape.id as never)).toMatchObject({ x: 42 })
  })

  test('an edit in the tldraw store reaches a stock y-websocket client, and its edit comes back', async () => {
    const s = await scope.server()
    const board = open(s, 'edit-room')
    const { store } = await board.whenSynced()
    // What the editor does on mount, then a user's rectangle.
    store.put(editorRecords(store))
    const mine = geo(store, 7)
    store.put([mine])

    const peer = scope.client(s, 'edit-room')
    await waitFor(() => recordsOf(peer.doc).get(mine.id) !== undefined, "the peer to get the board's shape")
    expect(recordsOf(peer.doc).get(mine.id)).toMatchObject({ x: 7 })

    const peerStore = newStore()
    bindStoreToDoc(peerStore, peer.doc, { onOutdated: () => undefined })
    const theirs = geo(peerStore, 99)
    peerStore.put([theirs])
    await waitFor(() => store.get(theirs.id as never) !== undefined, "the board to get the peer's shape")
  })

  test('a final close code (4401, a forged link) ends in refused, with no retry', async () => {
    const s = await scope.server()
    // Shaped like a token, signed by nobody: the server upgrades, then closes with 4401.
    const board = open(s, `${'a'.repeat(22)}.${'b'.repeat(22)}`)
    await waitFor(() => board.latest()?.status === 'error', 'the refusal')
    const state = board.latest()
    expect(state).toMatchObject({ status: 'error', connection: 'offline', error: { kind: 'refused', code: 4401 } })
    if (state?.status === 'error') expect(state.error.message).toMatch(/not valid/)
    // Backoff starts at 100 ms: a retry loop would have opened more sockets by now.
    await sleep(1_000)
    expect(board.sockets).toHaveLength(1)
    expect(board.reports.some((r) => r.state.status === 'synced')).toBe(false)
  })

  test("the browser's offline event drops the socket at once; online brings the board back", async () => {
    const s = await scope.server()
    const network = new EventTarget()
    const board = open(s, 'network-room', network)
    const { store } = await board.whenSynced()
    network.dispatchEvent(new Event('offline'))
    await waitFor(() => board.latest()?.connection === 'offline', 'the board to go offline')
    // Edits carry on locally while offline, and reach the server once back.
    store.put(editorRecords(store))
    const drawn = geo(store, 3)
    store.put([drawn])
    network.dispatchEvent(new Event('online'))
    await waitFor(() => board.latest()?.connection === 'online', 'the board to be back online')
    expect(board.sockets.length).toBeGreaterThan(1)
    const peer = scope.client(s, 'network-room')
    await waitFor(() => recordsOf(peer.doc).get(drawn.id) !== undefined, 'the offline edit to reach a peer')
  })

  test('dispose closes the socket, leaves the room and keeps nothing alive', async () => {
    const s = await scope.server()
    const board = open(s, 'dispose-room')
    await board.whenSynced()
    expect(connectionsOf(s)).toBe(1)
    const reports = board.reports.length

    board.board.dispose()
    await waitFor(() => board.sockets.every((ws) => ws.readyState === WebSocket.CLOSED), 'the socket to close')
    await waitFor(() => connectionsOf(s) === 0, 'the server to see the board leave')
    // y-websocket's own retry timer from the close runs out (as a no-op) within its backoff.
    await waitFor(() => keepingAlive().length === 0, 'timers, sockets and channels to be gone')
    expect(board.sockets).toHaveLength(1)
    expect(board.reports).toHaveLength(reports)
  })

  test('a board that was only visited stores nothing; the first shape stores it, page included', async () => {
    const s = await scope.server()
    const board = open(s, 'visited-room')
    const { store } = await board.whenSynced()
    // What the editor does on mount: not a change of the user's.
    store.put(editorRecords(store))
    await sleep(300)
    const peer = scope.client(s, 'visited-room')
    await synced(peer)
    expect(recordsOf(peer.doc).map.size).toBe(0)
    const shape = geo(store, 1)
    store.put([shape])
    await waitFor(() => recordsOf(peer.doc).get(shape.id) !== undefined, 'the shape to reach the peer')
    expect(recordsOf(peer.doc).get('page:page')).toBeDefined()
    expect(recordsOf(peer.doc).get('document:document')).toBeDefined()
    expect(peer.doc.getMap('meta').get('schema')).toBeDefined()
  })
})

describe('connectBoard, status from the server', () => {
  test('asks for Status messages, and reports the saving state they carry', async () => {
    const fake = await startFakeSyncServer()
    scope.defer(() => fake.close())
    const board = open(fake, 'status-room')
    const state = await board.whenSynced()
    expect(state.saving).toBe('ok')
    expect(fake.connections[0]!.params.get('features')).toBe('status')
    fake.sendStatus({ saving: 'paused' })
    await waitFor(() => board.latest()?.saving === 'paused', 'saving to pause')
    expect(board.latest()?.connection).toBe('online')
    fake.sendStatus({ saving: 'ok' })
    await waitFor(() => board.latest()?.saving === 'ok', 'saving to resume')
  })

  test('a restore announced in a Status message reaches onEvent; a malformed one does not', async () => {
    const fake = await startFakeSyncServer()
    scope.defer(() => fake.close())
    const warn = console.warn
    console.warn = () => undefined
    scope.defer(() => (console.warn = warn))
    const board = open(fake, 'restore-event-room')
    await board.whenSynced()
    fake.sendStatus({ restored: { by: 7, versionCreatedAt: 'noon' } } as never)
    fake.sendStatus({ restored: { by: 'Ada', versionCreatedAt: 1_700_000_000_000 } })
    fake.sendStatus({ restored: { by: null, versionCreatedAt: 1_700_000_100_000 } })
    await waitFor(() => board.events.length === 2, 'the two well-formed events')
    expect(board.events).toEqual([
      { restored: { by: 'Ada', versionCreatedAt: 1_700_000_000_000 } },
      { restored: { by: null, versionCreatedAt: 1_700_000_100_000 } },
    ])
    expect(board.latest()?.saving).toBe('ok')
  })

  test('a malformed or unknown Status message is ignored; the sync goes on', async () => {
    const fake = await startFakeSyncServer((c) => {
      c.socket.send(Uint8Array.from([100, 3, 0x7b, 0x7b, 0x7b]))
      c.socket.send(Uint8Array.from([100, 2, 0x7b, 0x7d]))
    })
    scope.defer(() => fake.close())
    const warn = console.warn
    console.warn = () => undefined
    scope.defer(() => (console.warn = warn))
    const board = open(fake, 'garbled-room')
    const { store } = await board.whenSynced()
    store.put(editorRecords(store))
    const shape = geo(store, 4)
    store.put([shape])
    await waitFor(() => recordsOf(fake.doc).get(shape.id) !== undefined, 'the shape to reach the server')
    expect(board.latest()?.saving).toBe('ok')
  })

  test('closed with 1011 (a change it could not save): saving paused, the change kept and resent after reconnecting', async () => {
    // What the server says to each new connection about its store.
    let saving: 'ok' | 'paused' = 'ok'
    const fake = await startFakeSyncServer((c) => c.socket.send(statusFrame({ saving })))
    scope.defer(() => fake.close())
    const board = open(fake, 'unsaved-room')
    const { store } = await board.whenSynced()
    store.put(editorRecords(store))
    saving = 'paused'
    fake.failNextUpdate('could not save this change; try again shortly')
    const shape = geo(store, 8)
    store.put([shape])
    await waitFor(() => board.latest()?.saving === 'paused', 'saving to pause')
    expect(recordsOf(fake.doc).get(shape.id)).toBeUndefined()
    // y-websocket reconnects by itself; the sync exchange carries the change again.
    await waitFor(() => recordsOf(fake.doc).get(shape.id) !== undefined, 'the change to be resent')
    expect(fake.connections.length).toBe(2)
    expect(board.latest()).toMatchObject({ connection: 'online', saving: 'paused' })
    fake.sendStatus({ saving: 'ok' })
    await waitFor(() => board.latest()?.saving === 'ok', 'saving to resume')
  })

  test('from a server that sends no Status, a 1011 pause lasts until the reconnected session has synced', async () => {
    const fake = await startFakeSyncServer()
    scope.defer(() => fake.close())
    const board = open(fake, 'plain-room')
    const { store } = await board.whenSynced()
    store.put(editorRecords(store))
    fake.failNextUpdate('could not save this change; try again shortly')
    store.put([geo(store, 9)])
    await waitFor(() => board.latest()?.saving === 'paused', 'saving to pause')
    await waitFor(() => fake.connections.length === 2 && board.latest()?.saving === 'ok', 'the next session to sync')
  })
})
