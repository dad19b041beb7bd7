// @vitest-environment node
// connectBoard without React or a browser: the real server in this process, `ws` for the
// socket, no local copy (no IndexedDB in Node) and no online/offline events.
import { describe, expect, test } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import * as Y from 'yjs'
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

describe('connectBoard, with a copy on this device', () => {
  /** A server that takes the socket and never answers: a network that is up but slow. */
  async function silentServer() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
    scope.defer(() => new Promise<void>((resolve) => wss.close(() => resolve())))
    const { port } = wss.address() as { port: number }
    return { url: `http://127.0.0.1:${port}`, sockets: () => wss.clients.size }
  }

  /** A board's doc as this device kept it: `build` draws in a bound store. */
  function keptCopy(build: (store: ReturnType<typeof newStore>, doc: Y.Doc) => void): Uint8Array {
    const doc = new Y.Doc()
    const store = newStore()
    bindStoreToDoc(store, doc, { onOutdated: () => undefined })
    build(store, doc)
    return Y.encodeStateAsUpdate(doc)
  }

  function openWithCopy(server: { url: string }, copy: Uint8Array) {
    const reports: BoardState[] = []
    const board = connectBoard(
      {
        room: 'kept-room',
        origin: server.url,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        network: null,
        serverWaitMs: 60_000,
        persistence: (_name, doc) => {
          Y.applyUpdate(doc, copy)
          return { whenSynced: Promise.resolve(), destroy() {} }
        },
      },
      (state) => reports.push(state),
    )
    scope.defer(() => board.dispose())
    return reports
  }

  test('opens from it at once, without waiting for the server', async () => {
    const server = await silentServer()
    let shape: ReturnType<typeof geo> | null = null
    const copy = keptCopy((store) => store.put([(shape = geo(store, 5))]))
    const reports = openWithCopy(server, copy)
    await waitFor(() => reports.some((r) => r.status === 'synced'), 'the board to show')
    const state = reports.find((r) => r.status === 'synced')
    if (state?.status !== 'synced') throw new Error('unreachable')
    expect(state.store.get(shape!.id as never)).toMatchObject({ x: 5 })
    // The server has said nothing: the board came from the copy alone.
    expect(server.sockets()).toBeLessThanOrEqual(1)
  })

  test('the copy is not uploaded as a change: the socket opens once it is in, and the sync carries it', async () => {
    const updates: number[] = []
    const fake = await startFakeSyncServer(({ socket }) =>
      socket.on('message', (data: Buffer) => {
        // [0 Sync, 2 Update, …]: a change sent as such, not as a sync step.
        if (data[0] === 0 && data[1] === 2) updates.push(data.length)
      }),
    )
    scope.defer(() => fake.close())
    let shape: ReturnType<typeof geo> | null = null
    const copy = keptCopy((store) => store.put([(shape = geo(store, 6))]))
    const origin = {}
    const board = connectBoard(
      {
        room: 'copy-room',
        origin: fake.url,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        network: null,
        persistence: (_name, doc) => ({
          origin,
          // Read a little later, as IndexedDB does, in one transaction of the copy's.
          whenSynced: sleep(50).then(() => Y.applyUpdate(doc, copy, origin)),
          destroy() {},
          keep() {},
        }),
      },
      () => undefined,
    )
    scope.defer(() => board.dispose())
    await waitFor(() => recordsOf(fake.doc).get(shape!.id) !== undefined, 'the server to have the copy')
    expect(updates).toEqual([])
  })

  test("connecting does not send the whole board to this browser's other tabs", async () => {
    const server = await silentServer()
    const copy = keptCopy((store) => store.put([geo(store, 8)]))
    // Where stock y-websocket would publish its sync step 2 (the whole doc) on every connect.
    const channel = new BroadcastChannel(`${server.url.replace(/^http/, 'ws')}/sync/kept-room`)
    const heard: unknown[] = []
    channel.onmessage = (event) => heard.push(event.data)
    scope.defer(() => channel.close())
    const reports = openWithCopy(server, copy)
    await waitFor(() => reports.some((r) => r.status === 'synced') && server.sockets() === 1, 'the board to show and connect')
    await sleep(200)
    expect(heard).toEqual([])
  })

  test('a copy written by an older tldraw waits for the server, which may know a newer one', async () => {
    const server = await silentServer()
    const copy = keptCopy((store, doc) => {
      store.put([geo(store, 5)])
      const schema = store.schema.serialize()
      doc.getMap('meta').set('schema', { ...schema, sequences: { ...schema.sequences, 'com.tldraw.shape': 0 } })
    })
    const reports = openWithCopy(server, copy)
    await waitFor(() => server.sockets() === 1, 'the board to connect')
    await sleep(300)
    expect(reports.some((r) => r.status === 'synced')).toBe(false)
  })
})

describe('connectBoard, what is encoded and kept', () => {
  /** Whether a transaction origin is the provider, i.e. the change came from the server. */
  const isProvider = (origin: unknown) => origin !== null && typeof origin === 'object' && 'ws' in origin

  test("the server's changes are kept as they arrived, never encoded again; this client's own are encoded, sent and kept", async () => {
    const s = await scope.server()
    const kept: Array<{ update: Uint8Array; fromServer: boolean }> = []
    let boardDoc: Y.Doc | null = null
    const reports: BoardState[] = []
    const board = connectBoard(
      {
        room: 'kept-bytes-room',
        origin: s.url,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        network: null,
        persistence: (_name, doc) => {
          boardDoc = doc
          return {
            whenSynced: Promise.resolve(),
            destroy() {},
            keep: (update, origin) => kept.push({ update, fromServer: isProvider(origin) }),
          }
        },
      },
      (state) => reports.push(state),
    )
    scope.defer(() => board.dispose())
    // Yjs encodes a transaction if the doc has an 'update' listener when it looks, right
    // after 'afterTransactionCleanup'; this listener comes after the board's own.
    const serverChangeListened: boolean[] = []
    boardDoc!.on('afterTransactionCleanup', (transaction: Y.Transaction) => {
      if (isProvider(transaction.origin))
        serverChangeListened.push((boardDoc as unknown as { _observers: Map<string, Set<unknown>> })._observers.has('update'))
    })
    await waitFor(() => reports.some((r) => r.status === 'synced'), 'the board to sync')
    const state = reports.find((r) => r.status === 'synced')
    if (state?.status !== 'synced') throw new Error('unreachable')

    // A peer draws: the board gets it from the server.
    const peer = scope.client(s, 'kept-bytes-room')
    await synced(peer)
    const peerStore = newStore()
    bindStoreToDoc(peerStore, peer.doc, { onOutdated: () => undefined })
    const theirs = geo(peerStore, 9)
    peerStore.put([theirs])
    await waitFor(() => state.store.get(theirs.id as never) !== undefined, "the peer's shape")
    // The server's changes (the peer's shape among them) went through the binding's
    // YKeyValue, which opens a transaction of its own in its observer; none was encoded.
    expect(serverChangeListened.length).toBeGreaterThan(0)
    expect(serverChangeListened.every((listened) => !listened)).toBe(true)
    const fromServer = kept.filter((k) => k.fromServer)
    expect(fromServer.length).toBeGreaterThan(0)
    // What was kept is the change itself: applied to an empty doc, it holds the shape.
    const replay = new Y.Doc()
    for (const k of fromServer) Y.applyUpdate(replay, k.update)
    expect(recordsOf(replay).get(theirs.id)).toMatchObject({ x: 9 })

    // This client draws: it reaches the peer, and the copy keeps it.
    const before = kept.length
    const mine = geo(state.store, 4)
    state.store.put([mine])
    await waitFor(() => recordsOf(peer.doc).get(mine.id) !== undefined, 'our shape at the peer')
    expect(kept.slice(before).filter((k) => !k.fromServer).length).toBeGreaterThan(0)
    // Everything kept, replayed in order, is the board as this client has it.
    const copy = new Y.Doc()
    for (const k of kept) Y.applyUpdate(copy, k.update)
    expect(recordsOf(copy).get(mine.id)).toMatchObject({ x: 4 })
    expect(recordsOf(copy).get(theirs.id)).toMatchObject({ x: 9 })
    expect(Y.encodeStateVector(copy)).toEqual(Y.encodeStateVector(boardDoc!))
  })
})
