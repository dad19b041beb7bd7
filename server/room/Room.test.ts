/**
 * The room core driven synchronously: fake sockets under real Connections, a MemoryStore,
 * no network, no server, no polling. Flushes happen when the test says so (the room asks
 * for them through `requestFlush`, which only records the request here).
 */
import * as encoding from 'lib0/encoding'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import * as Y from 'yjs'
import { CloseCode } from '../../lib/protocol'
import { geoShape, records, seedBoard } from '../../test/abuse/board'
import { BoardRules } from '../board/BoardRules'
import { SyncError } from '../errors'
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate, parseMessage } from '../protocol/messages'
import { MemoryStore } from '../storage/MemoryStore'
import type { Store } from '../storage/Store'
import { Connection, type SyncSocket } from '../sync/Connection'
import { Stats } from '../sync/Stats'
import { Room, type RoomOptions } from './Room'
import { LIMITS } from './Room.fixtures'
import { StoreMonitor } from './StoreMonitor'

const log = pino({ level: 'silent' })

class FakeSocket implements SyncSocket {
  readyState = 1
  bufferedAmount = 0
  readonly sent: Uint8Array[] = []
  closedWith: { code?: number; reason?: string } | null = null
  send(data: Uint8Array): void {
    this.sent.push(data)
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason }
    this.readyState = 3
  }
  terminate(): void {
    this.closedWith = { code: 1006 }
    this.readyState = 3
  }
  ping(): void {}
  /** What was sent since the last call, decoded. */
  take() {
    return this.sent.splice(0).map((frame) => parseMessage(frame))
  }
}

let nextId = 1
function peer(options: { readOnly?: boolean; maxOffences?: number; wantsStatus?: boolean } = {}) {
  const socket = new FakeSocket()
  const conn = new Connection(socket, {
    roomId: 'room',
    roomTag: 'r-test',
    id: nextId++,
    readOnly: options.readOnly,
    wantsStatus: options.wantsStatus,
    limits: {
      maxBufferedBytes: 1 << 20,
      messagesPerSecond: 1000,
      messageBurst: 1000,
      handshakeTimeoutMs: 60_000,
      maxOffences: options.maxOffences ?? 10,
      maxMessageBytes: 1 << 20,
      maxEditMessageBytes: 1 << 20,
      inflightWaitMs: 1000,
    },
    stats: new Stats(),
    log,
  })
  return { socket, conn }
}

/** Builds a room around a store; `flushes` counts the room's requests for a flush. */
async function openRoom(overrides: Partial<RoomOptions> = {}, store: Store = new MemoryStore()) {
  let flushes = 0
  const room = new Room('room', {
    store,
    log,
    tag: 'r-test',
    requestFlush: () => void flushes++,
    compactAfterBytes: 1 << 20,
    compactAfterEntries: 1000,
    rules: new BoardRules({ maxRecordBytes: 64 * 1024 }),
    limits: LIMITS,
    ...overrides,
  })
  await room.load()
  return { room, store, flushRequests: () => flushes }
}

/** A client's document and the update each change makes. */
function client(): { doc: Y.Doc; change(fn: (doc: Y.Doc) => void): Uint8Array } {
  const doc = new Y.Doc()
  return {
    doc,
    change(fn) {
      const before = Y.encodeStateVector(doc)
      fn(doc)
      return Y.encodeStateAsUpdate(doc, before)
    },
  }
}

const storedDoc = async (store: Store) => {
  const doc = new Y.Doc()
  const stored = await store.load('room')
  if (stored) Y.applyUpdate(doc, stored.update)
  return doc
}

const updatesIn = (messages: ReturnType<FakeSocket['take']>) =>
  messages.flatMap((m) => (m.type === 'sync-update' || m.type === 'sync-step2' ? [m.update] : []))

function joined(room: Room, ...peers: Array<ReturnType<typeof peer>>) {
  for (const p of peers) {
    room.join(p.conn)
    room.receive(p.conn, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    p.socket.take()
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Room', () => {
  test('a joiner gets the state vector first, then the full state once it sends sync step 1', async () => {
    const store = new MemoryStore()
    const writer = client()
    await store.append(
      'room',
      writer.change((d) => seedBoard(d)),
    )
    const { room } = await openRoom({}, store)
    const a = peer()
    room.join(a.conn)
    const [first] = a.socket.take()
    expect(first?.type).toBe('sync-step1')
    room.receive(a.conn, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    const copy = new Y.Doc()
    for (const update of updatesIn(a.socket.take())) Y.applyUpdate(copy, update)
    expect(records(copy).get('shape:geo1')).toBeTruthy()
  })

  test('[S11] an update is stored before anyone gets it, and [S5] never goes back to its sender', async () => {
    const { room, store, flushRequests } = await openRoom()
    const a = peer()
    const b = peer()
    joined(room, a, b)
    const writer = client()
    room.receive(a.conn, encodeUpdate(writer.change((d) => seedBoard(d))))
    expect(flushRequests()).toBeGreaterThan(0)
    // Asked to flush, not flushed: nothing stored, nothing sent.
    expect(await store.load('room')).toBeNull()
    expect(b.socket.take()).toEqual([])
    await room.flush()
    expect(records(await storedDoc(store)).get('shape:geo1')).toBeTruthy()
    expect(updatesIn(b.socket.take())).toHaveLength(1)
    expect(a.socket.take()).toEqual([])
  })

  test("a joiner's full state waits for updates the room has not stored yet", async () => {
    const { room } = await openRoom()
    const a = peer()
    const b = peer()
    joined(room, a)
    const writer = client()
    room.receive(a.conn, encodeUpdate(writer.change((d) => seedBoard(d))))
    room.join(b.conn)
    room.receive(b.conn, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    expect(b.socket.take().map((m) => m.type)).toEqual(['sync-step1'])
    await room.flush()
    const copy = new Y.Doc()
    for (const update of updatesIn(b.socket.take())) Y.applyUpdate(copy, update)
    expect(records(copy).get('shape:geo1')).toBeTruthy()
  })

  test('[S40] an invalid record is reverted for everyone, the sender included, and never stored', async () => {
    const { room, store } = await openRoom()
    const a = peer()
    const b = peer()
    joined(room, a, b)
    const writer = client()
    room.receive(a.conn, encodeUpdate(writer.change((d) => seedBoard(d))))
    await room.flush()
    a.socket.take()
    b.socket.take()
    const bad = writer.change((d) => records(d).set('shape:geo1', geoShape('shape:geo1', { w: 'wide' })))
    room.receive(a.conn, encodeUpdate(bad))
    await room.flush()
    for (const p of [a, b]) {
      const corrections = updatesIn(p.socket.take())
      expect(corrections).toHaveLength(1)
    }
    const stored = records(await storedDoc(store)).get('shape:geo1') as { props: { w: unknown } }
    expect(stored.props.w).toBe(100)
    expect((records(room.doc).get('shape:geo1') as { props: { w: unknown } }).props.w).toBe(100)
    expect(a.conn.offences).toBe(1)
  })

  test('[S44] a sender past MAX_OFFENCES is refused with a 4400 error, its valid changes still go out', async () => {
    const { room } = await openRoom()
    const a = peer({ maxOffences: 0 })
    const b = peer()
    joined(room, a, b)
    const writer = client()
    const update = writer.change((d) => {
      seedBoard(d)
      records(d).set('shape:bad', { id: 'shape:bad', typeName: 'shape', type: 'nope' })
    })
    expect(() => room.receive(a.conn, encodeUpdate(update))).toThrow(SyncError)
    await room.flush()
    const copy = new Y.Doc()
    for (const u of updatesIn(b.socket.take())) Y.applyUpdate(copy, u)
    expect(records(copy).get('shape:geo1')).toBeTruthy()
    expect(records(copy).get('shape:bad')).toBeUndefined()
  })

  describe('[S45] held-back updates', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    })

    test('an update whose dependency is missing waits, then goes out with it, stored once both are in', async () => {
      const { room, store } = await openRoom()
      const a = peer()
      const b = peer()
      joined(room, a, b)
      const writer = client()
      const first = writer.change((d) => d.getArray('list').push(['one']))
      const second = writer.change((d) => d.getArray('list').push(['two']))
      room.receive(a.conn, encodeUpdate(second))
      await room.flush()
      expect(b.socket.take()).toEqual([])
      expect(await store.load('room')).toBeNull()
      room.receive(a.conn, encodeUpdate(first))
      await room.flush()
      const copy = new Y.Doc()
      for (const u of updatesIn(b.socket.take())) Y.applyUpdate(copy, u)
      expect(copy.getArray('list').toJSON()).toEqual(['one', 'two'])
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual(['one', 'two'])
    })

    test('after MAX_PENDING_MS its sender is closed with 4400 and the incomplete part is dropped', async () => {
      const { room, store } = await openRoom()
      const a = peer()
      const b = peer()
      joined(room, a, b)
      const writer = client()
      writer.change((d) => d.getArray('list').push(['never sent']))
      const dependent = writer.change((d) => d.getArray('list').push(['depends']))
      room.receive(a.conn, encodeUpdate(dependent))
      await room.flush()
      vi.advanceTimersByTime(5000)
      expect(a.socket.closedWith?.code).toBe(CloseCode.Malformed)
      expect(a.socket.closedWith?.reason).toMatch(/never sent/)
      await room.flush()
      expect(room.doc.getArray('list').toJSON()).toEqual([])
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual([])
      // Nothing waits any more: the next change goes straight through.
      const other = client()
      room.receive(b.conn, encodeUpdate(other.change((d) => d.getArray('list').push(['next']))))
      await room.flush()
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual(['next'])
    })
  })

  test('[S61] a view-only peer is told once that it cannot write; nothing it sends is applied or stored', async () => {
    const { room, store } = await openRoom()
    const viewer = peer({ readOnly: true })
    const editor = peer()
    joined(room, viewer, editor)
    const writer = client()
    for (let i = 0; i < 2; i++) {
      room.receive(viewer.conn, encodeUpdate(writer.change((d) => d.getArray('list').push([i]))))
    }
    await room.flush()
    expect(viewer.socket.take().map((m) => m.type)).toEqual(['auth'])
    expect(editor.socket.take()).toEqual([])
    expect(room.doc.getArray('list').length).toBe(0)
    expect(await store.load('room')).toBeNull()
    // Its empty answer to our sync step 1 is not a write: no message for it.
    room.receive(viewer.conn, encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())))
    expect(viewer.socket.take()).toEqual([])
  })

  describe('awareness', () => {
    /** An awareness frame with one entry: varUint clientId, varUint clock, varString JSON state. */
    const entry = (clientId: number, clock: number, state: unknown) => {
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, clientId)
      encoding.writeVarUint(encoder, clock)
      encoding.writeVarString(encoder, JSON.stringify(state))
      return encodeAwareness([encoding.toUint8Array(encoder)])
    }

    test('[S43] a connection speaks only for its own client ids; [S2] its states go when it leaves', async () => {
      const { room } = await openRoom()
      const a = peer()
      const b = peer()
      joined(room, a, b)
      room.receive(a.conn, entry(101, 1, { user: { id: 'a', name: 'Ada', color: '#f00' } }))
      await room.flush()
      const seen = b.socket.take()
      expect(seen.map((m) => m.type)).toEqual(['awareness'])
      // B claims A's client id: dropped and counted.
      room.receive(b.conn, entry(101, 2, { user: { id: 'b', name: 'Impostor', color: '#0f0' } }))
      await room.flush()
      expect(a.socket.take()).toEqual([])
      expect(b.conn.offences).toBe(1)
      room.leave(a.conn)
      await room.flush()
      const [gone] = b.socket.take()
      expect(gone?.type).toBe('awareness')
      const removal = gone?.type === 'awareness' ? gone.entries[0] : undefined
      expect(removal).toMatchObject({ clientId: 101, removed: true })
    })

    test('[S132] a cursor that moved beside a change goes out with it, once stored; a cursor alone goes out at once', async () => {
      const store = new MemoryStore()
      const stored = store.append.bind(store)
      const waiting: Array<() => void> = []
      store.append = async (roomId, update) => {
        await new Promise<void>((resolve) => waiting.push(resolve))
        return stored(roomId, update)
      }
      const { room } = await openRoom({}, store)
      const a = peer()
      const b = peer()
      joined(room, a, b)
      room.receive(a.conn, encodeUpdate(client().change((d) => seedBoard(d))))
      room.receive(a.conn, entry(101, 1, { user: { id: 'a', name: 'Ada', color: '#f00' } }))
      const flushed = room.flush()
      await vi.waitFor(() => expect(waiting).toHaveLength(1))
      expect(b.socket.take()).toEqual([])
      // While that change is being stored, a cursor that moves alone is not held back.
      room.receive(a.conn, entry(101, 2, { user: { id: 'a', name: 'Ada', color: '#0f0' } }))
      void room.flush()
      expect(b.socket.take().map((m) => m.type)).toEqual(['awareness'])
      waiting.shift()!()
      await flushed
      expect(b.socket.take().map((m) => m.type)).toEqual(['awareness', 'sync-update'])
    })

    test('an echo of a state the room has changes nothing and is not relayed', async () => {
      const { room } = await openRoom()
      const a = peer()
      const b = peer()
      joined(room, a, b)
      const frame = entry(7, 1, { user: { id: 'a', name: 'Ada', color: '#f00' } })
      expect(room.receive(a.conn, frame)).toBe(true)
      await room.flush()
      b.socket.take()
      expect(room.receive(b.conn, frame)).toBe(false)
      await room.flush()
      expect(a.socket.take()).toEqual([])
      expect(b.conn.offences).toBe(0)
    })
  })

  test('[S53] a still room sleeps, answers a join from its encoded state without waking, and wakes on a change', async () => {
    const store = new MemoryStore()
    const writer = client()
    await store.append(
      'room',
      writer.change((d) => seedBoard(d)),
    )
    const { room } = await openRoom({}, store)
    expect(room.sleepIfIdle(Date.now() + 60_000, 30_000)).toBeGreaterThan(0)
    expect(room.isDormant).toBe(true)
    const a = peer()
    room.join(a.conn)
    room.receive(a.conn, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    expect(room.isDormant).toBe(true)
    const copy = new Y.Doc()
    for (const u of updatesIn(a.socket.take())) Y.applyUpdate(copy, u)
    expect(records(copy).get('shape:geo1')).toBeTruthy()
    room.receive(a.conn, encodeUpdate(writer.change((d) => d.getArray('list').push(['wake']))))
    expect(room.isDormant).toBe(false)
    expect(room.doc.getArray('list').toJSON()).toEqual(['wake'])
    // Something in flight: it does not sleep.
    expect(room.sleepIfIdle(Date.now() + 60_000, 30_000)).toBe(0)
  })

  test('[S46] an update that would pass MAX_DOC_BYTES is refused with a limit error, the board unchanged', async () => {
    const { room } = await openRoom({ limits: { ...LIMITS, maxDocBytes: 4096 } })
    const a = peer()
    joined(room, a)
    const writer = client()
    const big = writer.change((d) => d.getText('notes').insert(0, 'x'.repeat(8000)))
    const error = (() => {
      try {
        room.receive(a.conn, encodeUpdate(big))
      } catch (err) {
        return err
      }
      return null
    })()
    expect(error).toBeInstanceOf(SyncError)
    expect((error as SyncError).closeCode).toBe(CloseCode.LimitReached)
    expect(room.doc.getText('notes').length).toBe(0)
  })

  test('[S47] a joiner past MAX_ROOM_CONNECTIONS is refused with a limit error', async () => {
    const { room } = await openRoom({ limits: { ...LIMITS, maxConnections: 1 } })
    room.join(peer().conn)
    expect(() => room.join(peer().conn)).toThrow(/full/)
  })

  describe('[S32] a store that refuses appends', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    })

    /** A MemoryStore that refuses appends while `full` is set, as a full disk would. */
    function flakyStore() {
      const store = new MemoryStore() as MemoryStore & { full: boolean }
      store.full = true
      const append = store.append.bind(store)
      store.append = async (roomId, update) => {
        if (store.full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL', name: 'SqliteError' })
        return append(roomId, update)
      }
      return store
    }

    test('pauses: nothing unsaved is sent or served, the writer is closed with 1011, the others are told; it resumes once the store takes it', async () => {
      const store = flakyStore()
      const monitor = new StoreMonitor()
      const { room } = await openRoom({ monitor, storeRetryMs: { first: 100, max: 400 } }, store)
      const writer = peer()
      const watcher = peer({ wantsStatus: true })
      const stock = peer()
      joined(room, writer, watcher, stock)
      const change = client().change((d) => d.getArray('list').push(['kept']))
      room.receive(writer.conn, encodeUpdate(change))
      await room.flush()
      expect(room.state).toBe('paused')
      expect(writer.socket.closedWith?.code).toBe(CloseCode.InternalError)
      expect(writer.socket.closedWith?.reason).toMatch(/could not save/)
      // The watcher that asked for status hears it; the stock client gets nothing it cannot read.
      expect(watcher.socket.take()).toEqual([{ type: 'unknown', messageType: 100 }])
      expect(stock.socket.take()).toEqual([])
      expect(monitor.problem).toMatch(/SQLITE_FULL/)
      // A joiner is refused (it would get the unsaved change), and so is any other change.
      expect(() => room.join(peer().conn)).toThrow(/cannot be saved right now/)
      room.receive(stock.conn, encodeUpdate(client().change((d) => d.getArray('list').push(['later']))))
      expect(stock.socket.closedWith?.code).toBe(CloseCode.InternalError)
      // Still full: the retry fails, nothing goes out.
      await vi.advanceTimersByTimeAsync(100)
      expect(watcher.socket.take()).toEqual([])
      store.full = false
      await vi.advanceTimersByTimeAsync(400)
      expect(room.state).toBe('ready')
      expect(monitor.problem).toBeNull()
      const after = watcher.socket.take()
      expect(after.map((m) => m.type)).toEqual(['sync-update', 'unknown'])
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual(['kept'])
      expect(room.doc.getArray('list').toJSON()).toEqual(['kept'])
    })

    /** A MemoryStore whose appends wait until the test lets each one through or fails it. */
    function heldStore() {
      const store = new MemoryStore()
      const held: Array<{ go(): void; fail(): void }> = []
      const append = store.append.bind(store)
      store.append = (roomId, update) =>
        new Promise<void>((resolve, reject) => {
          held.push({
            go: () => resolve(append(roomId, update)),
            fail: () => reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL', name: 'SqliteError' })),
          })
        })
      return { store, held }
    }
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
    /** What a joiner's client holds, from everything it was sent so far. */
    const seenBy = (joiner: ReturnType<typeof peer>) => {
      const doc = new Y.Doc()
      return () => {
        for (const u of updatesIn(joiner.socket.take())) Y.applyUpdate(doc, u)
        return doc.getArray('list').toJSON()
      }
    }

    test("[S11] a joiner's answer waits for the append in flight, and holds nothing that came after it", async () => {
      const { store, held } = heldStore()
      const { room } = await openRoom({}, store)
      const writer = peer()
      joined(room, writer)
      const w = client()
      room.receive(writer.conn, encodeUpdate(w.change((d) => d.getArray('list').push(['first']))))
      const flushed = room.flush()
      await nextTurn()
      expect(held).toHaveLength(1)
      const joiner = peer()
      room.join(joiner.conn)
      joiner.socket.take()
      room.receive(joiner.conn, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
      const seen = seenBy(joiner)
      // Applied and queued, not stored: arrives while the first append is in flight.
      room.receive(writer.conn, encodeUpdate(w.change((d) => d.getArray('list').push(['second']))))
      expect(seen()).toEqual([])
      held[0]!.go()
      await flushed
      expect(seen()).toEqual(['first'])
      const second = room.flush()
      await nextTurn()
      held[1]!.go()
      await second
      expect(seen()).toEqual(['first', 'second'])
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual(['first', 'second'])
    })

    test("a joiner's answer that holds an update the store refused waits until the store takes it", async () => {
      const { store, held } = heldStore()
      const { room } = await openRoom({ storeRetryMs: { first: 100, max: 100 } }, store)
      const writer = peer()
      joined(room, writer)
      room.receive(writer.conn, encodeUpdate(client().change((d) => d.getArray('list').push(['kept']))))
      const flushed = room.flush()
      await nextTurn()
      const joiner = peer()
      room.join(joiner.conn)
      joiner.socket.take()
      room.receive(joiner.conn, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
      const seen = seenBy(joiner)
      held[0]!.fail()
      await flushed
      expect(room.state).toBe('paused')
      expect(writer.socket.closedWith?.code).toBe(CloseCode.InternalError)
      expect(seen()).toEqual([])
      await vi.advanceTimersByTimeAsync(100)
      held[1]!.go()
      await vi.advanceTimersByTimeAsync(0)
      expect(room.state).toBe('ready')
      expect(seen()).toEqual(['kept'])
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual(['kept'])
    })

    test('a room holding changes the store has not taken is not unloaded, and unloads once they are stored', async () => {
      const store = flakyStore()
      const { room } = await openRoom({ storeRetryMs: { first: 100, max: 100 } }, store)
      const writer = peer()
      joined(room, writer)
      room.receive(writer.conn, encodeUpdate(client().change((d) => d.getArray('list').push(['precious']))))
      room.leave(writer.conn)
      expect(await room.unload()).toBe(false)
      expect(room.state).toBe('paused')
      store.full = false
      await vi.advanceTimersByTimeAsync(100)
      expect(room.state).toBe('ready')
      expect(await room.unload()).toBe(true)
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual(['precious'])
    })

    test('[S33] a compaction that fails does not stop later changes from being stored and sent', async () => {
      const store = new MemoryStore()
      store.compact = async () => {
        throw new Error('disk full')
      }
      const monitor = new StoreMonitor()
      const { room } = await openRoom({ monitor, compactAfterEntries: 1 }, store)
      const a = peer()
      const b = peer()
      joined(room, a, b)
      const writer = client()
      for (const item of ['one', 'two', 'three']) {
        room.receive(a.conn, encodeUpdate(writer.change((d) => d.getArray('list').push([item]))))
        await room.flush()
      }
      expect(monitor.compactErrors).toBeGreaterThan(0)
      expect(room.state).toBe('ready')
      expect(updatesIn(b.socket.take())).toHaveLength(3)
      expect((await storedDoc(store)).getArray('list').toJSON()).toEqual(['one', 'two', 'three'])
    })
  })
})
