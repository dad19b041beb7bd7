/**
 * Replication between sync servers in one process, on the in-process bus: fast and
 * deterministic (the test cuts the bus exactly when it wants). The same behaviour with
 * real Redis, PostgreSQL and child processes is in test/multi/.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import type WebSocket from 'ws'
import * as Y from 'yjs'
import { geoShape, records, seedBoard } from '../../test/abuse/board'
import { connectClient, sleep, startTestServer, synced, type TestClient, type TestServer, waitFor } from '../../test/helpers'
import { type InProcessBus, InProcessHub } from './InProcessBus'
import { MemoryStore } from '../storage/MemoryStore'
import { PostgresStore } from '../storage/PostgresStore'
import type { Store } from '../storage/Store'

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const FAST = { ANTI_ENTROPY_INTERVAL_MS: '200', REMOTE_AWARENESS_TIMEOUT_MS: '1000' }

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})
const schemas: string[] = []
afterAll(async () => {
  for (const schema of schemas) {
    const store = new PostgresStore({ url: DATABASE_URL, schema })
    await store.dropSchema()
    await store.close()
  }
})

async function instance(hub: InProcessHub, store?: Store): Promise<{ server: TestServer; bus: InProcessBus }> {
  const bus = hub.bus()
  const server = await startTestServer(FAST, { bus, ...(store ? { store } : {}) })
  cleanup.push(() => server.close())
  return { server, bus }
}

async function sharedStores(n: number): Promise<PostgresStore[]> {
  const schema = `sketchroom_test_${randomBytes(6).toString('hex')}`
  schemas.push(schema)
  const stores: PostgresStore[] = []
  for (let i = 0; i < n; i++) {
    const store = new PostgresStore({ url: DATABASE_URL, schema, timeoutMs: 5000 })
    await store.migrate()
    stores.push(store)
  }
  return stores
}

function client(server: TestServer, room: string, doc?: Y.Doc): TestClient {
  const c = connectClient(server.wsUrl, room, doc)
  cleanup.push(() => c.destroy())
  return c
}

/**
 * `store` with a valve on its appends: while closed, each append waits until the test lets
 * it through (`release`), so an instance can hold updates it has applied and not stored.
 */
function appendValve(store: Store) {
  const waiting: Array<() => void> = []
  let closed = false
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'append') {
        return async (room: string, update: Uint8Array) => {
          if (closed) await new Promise<void>((resolve) => waiting.push(resolve))
          return target.append(room, update)
        }
      }
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  return {
    store: wrapped,
    get waiting() {
      return waiting.length
    },
    close() {
      closed = true
    },
    release(n: number) {
      for (const resolve of waiting.splice(0, n)) resolve()
    },
    open() {
      closed = false
      this.release(waiting.length)
    },
  }
}

/** What `stores` hold of `room`, together, as one doc. */
async function storedDoc(room: string, ...stores: Store[]): Promise<Y.Doc> {
  const doc = new Y.Doc()
  for (const store of stores) {
    const stored = await store.load(room)
    if (stored) Y.applyUpdate(doc, stored.update)
  }
  return doc
}

const storedList = async (store: Store, room: string) => (await storedDoc(room, store)).getArray<string>('list').toJSON()

const list = (c: TestClient) => c.doc.getArray<string>('list').toJSON()
const same = (clients: TestClient[]) => {
  const first = JSON.stringify(list(clients[0]!))
  return clients.every((c) => JSON.stringify(list(c)) === first)
}

describe('replication between instances (in-process bus)', () => {
  test('[S21] edits and cursors on one instance reach clients of the room on another', async () => {
    const hub = new InProcessHub()
    const [storeA, storeB] = await sharedStores(2)
    const a = await instance(hub, storeA)
    const b = await instance(hub, storeB)
    const onA = client(a.server, 'room-r1')
    const onB = client(b.server, 'room-r1')
    await synced(onA, onB)
    onA.doc.getArray<string>('list').push(['from A'])
    onB.doc.getArray<string>('list').push(['from B'])
    await waitFor(() => list(onA).length === 2 && list(onB).length === 2, 'both edits on both instances')
    expect(list(onA)).toEqual(list(onB))
    onA.provider.awareness.setLocalStateField('user', { id: 'ada', name: 'Ada', color: '#f00' })
    await waitFor(() => onB.provider.awareness.getStates().get(onA.doc.clientID)?.user?.name === 'Ada', "Ada's cursor on B")
    // A client joining B later sees A's client's cursor at once (B asked A when it loaded).
    const late = client(b.server, 'room-r1')
    await waitFor(() => late.provider.awareness.getStates().get(onA.doc.clientID)?.user?.name === 'Ada', 'cursor at late joiner')
  })

  test('[S22] instances that missed bus messages converge, deletions included, once the bus is back', async () => {
    const hub = new InProcessHub()
    // Separate stores: only the bus can heal them, so this isolates peer anti-entropy.
    const a = await instance(hub)
    const b = await instance(hub)
    const onA = client(a.server, 'room-r2')
    const onB = client(b.server, 'room-r2')
    await synced(onA, onB)
    onA.doc.getArray<string>('list').push(['a0', 'a1', 'a2'])
    await waitFor(() => list(onB).length === 3, 'first edit on B')
    b.bus.cutOff()
    onA.doc.getArray<string>('list').push(['a3'])
    onA.doc.getArray<string>('list').delete(0, 1) // a deletion moves no state vector
    onB.doc.getArray<string>('list').push(['b0'])
    // Nothing crosses while cut.
    await waitFor(() => list(onA).includes('a3') && list(onB).includes('b0'), 'local edits')
    expect(list(onB)).not.toContain('a3')
    b.bus.restore()
    await waitFor(() => same([onA, onB]) && list(onA).length === 4, 'convergence after the bus returned')
    expect(list(onA)).not.toContain('a0')
    expect(list(onA).sort()).toEqual(['a1', 'a2', 'a3', 'b0'])
  })

  test('[S22] a deletion lost on the bus heals by periodic anti-entropy, without any reconnect', async () => {
    const hub = new InProcessHub()
    const a = await instance(hub)
    const b = await instance(hub)
    const onA = client(a.server, 'room-r3')
    const onB = client(b.server, 'room-r3')
    await synced(onA, onB)
    onA.doc.getArray<string>('list').push(['x', 'y'])
    await waitFor(() => list(onB).length === 2, 'edit on B')
    // Lose exactly the deletion, as pub/sub may, with no outage to trigger a catch-up.
    a.bus.loseMessages(true)
    onA.doc.getArray<string>('list').delete(0, 1)
    const roomA = a.server.sync.rooms.get('room-r3')!
    await waitFor(() => roomA.doc.getArray('list').length === 1, 'deletion on A')
    await roomA.settle() // stored and published (into the void)
    a.bus.loseMessages(false)
    expect(list(onB)).toEqual(['x', 'y'])
    await waitFor(() => JSON.stringify(list(onB)) === JSON.stringify(['y']), 'the deletion on B')
  })

  test('[S21] a room opened on another instance while the bus is down still gets what was stored', async () => {
    const hub = new InProcessHub()
    const [storeA, storeB] = await sharedStores(2)
    const a = await instance(hub, storeA)
    const b = await instance(hub, storeB)
    const onA = client(a.server, 'room-r4')
    await synced(onA)
    b.bus.cutOff()
    const onB = client(b.server, 'room-r4')
    await synced(onB)
    onA.doc.getArray<string>('list').push(['stored by A while B is deaf'])
    // B reads the shared store on its anti-entropy tick.
    await waitFor(() => list(onB).length === 1, "A's edit on B from the store")
    const doc = new Y.Doc()
    Y.applyUpdate(doc, (await storeB!.load('room-r4'))!.update)
    expect(doc.getArray('list').toJSON()).toEqual(list(onA))
  })

  test('[S134] what a repair brings is stored by the instance it reaches, so it outlives a sender that never stored it', async () => {
    const hub = new InProcessHub()
    const [storeA, storeB, reader] = await sharedStores(3)
    const valve = appendValve(storeA!)
    const a = await instance(hub, valve.store)
    cleanup.push(() => valve.open())
    const b = await instance(hub, storeB)
    const room = 'room-r6'
    const onA = client(a.server, room)
    const onB = client(b.server, room)
    await synced(onA, onB)
    const roomA = a.server.sync.rooms.get(room)!
    // A's first edit is stored, and its message to B lost: B lacks it until A repairs it.
    a.bus.loseMessages(true)
    onA.doc.getArray<string>('list').push(['first'])
    await waitFor(async () => (await storedList(reader!, room)).includes('first'), 'the first edit stored')
    a.bus.loseMessages(false)
    // A's next edit is applied and its append held, while anti-entropy rounds ask A for the first.
    valve.close()
    onA.doc.getArray<string>('list').push(['second'])
    await waitFor(() => valve.waiting > 0, "the second edit's append waiting at the valve")
    await sleep(1000)
    onA.doc.getArray<string>('list').push(['third'])
    await waitFor(() => roomA.doc.getArray('list').length === 3, 'the third edit applied on A')
    // The second append goes through; every later one of A stays at the valve for good, as
    // if A died now: A never stores the third edit.
    valve.release(1)
    await waitFor(() => list(onB).includes('third'), "A's third edit on B, through a repair")
    expect(valve.waiting).toBeGreaterThan(0)
    await waitFor(async () => (await storedList(reader!, room)).includes('third'), 'the store to hold what B got', 5000)
    expect((await storedList(reader!, room)).sort()).toEqual(['first', 'second', 'third'])
  })

  test('[S135] a record entry an instance drops as a duplicate of one from the bus is dropped for its clients too', async () => {
    const hub = new InProcessHub()
    // Separate stores: only the bus brings one instance's entry to the other.
    const [storeA, storeB] = [new MemoryStore(), new MemoryStore()]
    const a = await instance(hub, storeA)
    const b = await instance(hub, storeB)
    const room = 'room-duplicates'
    // YKeyValue keeps the rightmost of two entries inserted at one place, and they sit in
    // client id order: `later` (on B) writes the entry every peer keeps.
    const [earlierDoc, laterDoc] = [new Y.Doc(), new Y.Doc()].sort((x, y) => x.clientID - y.clientID)
    const earlier = client(a.server, room, earlierDoc)
    const later = client(b.server, room, laterDoc)
    const onA = client(a.server, room)
    const onB = client(b.server, room)
    const everyone = [earlier, later, onA, onB]
    await synced(...everyone)
    seedBoard(earlier.doc)
    await waitFor(() => everyone.every((c) => records(c.doc).has('page:page')), 'the board everywhere')
    const id = 'shape:contested'
    const widthAt = (c: TestClient) => (records(c.doc).get(id) as { props?: { w?: number } } | undefined)?.props?.w
    // Neither writer reads for a while, as on slow links, and the bus is down: each
    // instance and writer has only its own entry.
    const sockets = [earlier, later].map((c) => c.provider.ws as unknown as WebSocket)
    for (const socket of sockets) socket.pause()
    b.bus.cutOff()
    records(later.doc).set(id, geoShape(id, { w: 20 }))
    records(earlier.doc).set(id, geoShape(id, { w: 10 }))
    await waitFor(() => widthAt(onA) === 10 && widthAt(onB) === 20, 'each entry on its own instance')
    // The bus comes back: each instance gets the other's entry from the bus and drops earlier's.
    b.bus.restore()
    const clock = Y.getState(earlier.doc.store, earlier.doc.clientID)
    await waitFor(() => Y.getState(onB.doc.store, earlier.doc.clientID) === clock, "earlier's entry on B")
    await waitFor(() => widthAt(onA) === 20, "later's entry on A")
    // later, not having seen earlier's entry, deletes the shape.
    records(later.doc).delete(id)
    await waitFor(() => widthAt(onA) === undefined && widthAt(onB) === undefined, 'the shape deleted on A and B')
    // Now later reads earlier's entry, which nobody else has any more: it must hear that B dropped it.
    for (const socket of sockets) socket.resume()
    for (const c of everyone) await expect.poll(() => records(c.doc).has(id), { timeout: 5_000 }).toBe(false)
    // What the two stores hold together has the drop too.
    await waitFor(async () => {
      const doc = await storedDoc(room, storeA, storeB)
      return records(doc).has('page:page') && !records(doc).has(id)
    }, 'the stored board without the shape')
  })

  test('[S26] cursors of clients on an instance that went silent are removed after the timeout', async () => {
    const hub = new InProcessHub()
    const a = await instance(hub)
    const b = await instance(hub)
    const onA = client(a.server, 'room-r5')
    const onB = client(b.server, 'room-r5')
    await synced(onA, onB)
    const ada = onA.doc.clientID
    onA.provider.awareness.setLocalStateField('user', { id: 'ada', name: 'Ada', color: '#f00' })
    await waitFor(() => onB.provider.awareness.getStates().get(ada)?.user?.name === 'Ada', "Ada's cursor on B")
    // A is cut off for good: it stands for an instance that died without saying goodbye.
    a.bus.cutOff()
    await waitFor(() => !onB.provider.awareness.getStates().has(ada), "Ada's cursor gone on B", 10_000)
    // Cursors of B's own clients are untouched.
    const bob = onB.doc.clientID
    onB.provider.awareness.setLocalStateField('user', { id: 'bob', name: 'Bob', color: '#00f' })
    const alsoOnB = client(b.server, 'room-r5')
    await waitFor(() => alsoOnB.provider.awareness.getStates().get(bob)?.user?.name === 'Bob', "Bob's cursor")
    expect(alsoOnB.provider.awareness.getStates().has(ada)).toBe(false)
  })
})
