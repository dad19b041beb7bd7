import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { encodeUpdate, KEEPALIVE_FRAME, parseMessage } from '../../server/protocol/messages'
import { SqliteStore } from '../../server/storage/SqliteStore'
import type { Store } from '../../server/storage/Store'
import { sqliteFile } from '../../server/config'
import { geoShape, records, seedBoard } from '../abuse/board'
import { sleep, synced, tempDir, testScope, upgradeRefusal, waitFor } from '../helpers'

const { server, client, raw, defer } = testScope()

describe('protocol', () => {
  test('[S1] stock y-websocket clients converge on concurrent edits', async () => {
    const s = await server()
    const clients = [client(s, 'room-a'), client(s, 'room-a'), client(s, 'room-a')]
    await synced(...clients)
    clients.forEach((c, i) => {
      for (let n = 0; n < 20; n++) {
        c.doc.getArray<string>('list').insert(0, [`${i}-${n}`])
        c.doc.getMap('map').set(`k${n % 5}`, i)
        c.doc.getText('text').insert(0, String(i))
      }
    })
    await waitFor(() => clients.every((c) => c.doc.getArray('list').length === 60), 'all 60 items everywhere')
    const expected = Y.encodeStateAsUpdate(clients[0]!.doc)
    for (const c of clients) {
      expect(c.doc.getArray('list').toJSON()).toEqual(clients[0]!.doc.getArray('list').toJSON())
      expect(c.doc.getMap('map').toJSON()).toEqual(clients[0]!.doc.getMap('map').toJSON())
      expect(c.doc.getText('text').toString()).toEqual(clients[0]!.doc.getText('text').toString())
    }
    // A late joiner gets the same document.
    const late = client(s, 'room-a')
    await synced(late)
    expect(Y.encodeStateVector(late.doc)).toEqual(Y.encodeStateVectorFromUpdate(expected))
    expect(late.doc.getArray('list').toJSON()).toEqual(clients[0]!.doc.getArray('list').toJSON())
  })

  test("[S135] a record entry the server drops as a duplicate is dropped for every client, also one whose messages crossed the server's", async () => {
    const dir = tempDir()
    const store = new SqliteStore({ file: sqliteFile({ DATA_DIR: dir }) })
    const s = await server({ DATA_DIR: dir }, { store })
    const room = 'room-duplicates'
    const [a, b, onlooker] = [client(s, room), client(s, room), client(s, room)]
    await synced(a, b, onlooker)
    seedBoard(a.doc)
    await waitFor(() => [b, onlooker].every((c) => records(c.doc).has('page:page')), 'the board everywhere')
    // Two entries inserted at the same place sit in client id order, and YKeyValue keeps the
    // rightmost: `later`'s entry is the one every peer keeps, `earlier`'s the one it drops.
    const [earlier, later] = a.doc.clientID < b.doc.clientID ? [a, b] : [b, a]
    const id = 'shape:contested'
    const seenByOnlooker = () => (records(onlooker.doc).get(id) as { props?: { w?: number } } | undefined)?.props?.w
    // `later` stops reading, as on a slow link: what the server sends it waits in its socket.
    const slow = later.provider.ws as unknown as WebSocket
    slow.pause()
    records(earlier.doc).set(id, geoShape(id, { w: 10 }))
    await waitFor(() => seenByOnlooker() === 10, "the onlooker to see earlier's shape")
    // `later`, not having seen it, writes its own value (the server drops earlier's entry as
    // the duplicate), then deletes the shape: on the server and the onlooker it is gone.
    records(later.doc).set(id, geoShape(id, { w: 20 }))
    await waitFor(() => seenByOnlooker() === 20, "the onlooker to see later's shape")
    records(later.doc).delete(id)
    await waitFor(() => seenByOnlooker() === undefined, 'the onlooker to see the shape deleted')
    // Now `later` reads earlier's entry, which nobody else has any more: it must hear that
    // the server dropped it, or it shows a shape the others deleted.
    slow.resume()
    for (const c of [a, b, onlooker]) {
      await expect.poll(() => records(c.doc).has(id), { timeout: 5_000 }).toBe(false)
    }
    // The store holds the drop too: a board loaded from it has no such shape.
    await waitFor(async () => {
      const stored = await store.load(room)
      const doc = new Y.Doc()
      if (stored) Y.applyUpdate(doc, stored.update)
      return records(doc).has('page:page') && !records(doc).has(id)
    }, 'the stored board without the shape')
  })

  test('[S2] awareness is relayed and disappears when its client disconnects', async () => {
    const s = await server()
    const a = client(s, 'room-aw')
    const b = client(s, 'room-aw')
    await synced(a, b)
    a.provider.awareness.setLocalStateField('user', { name: 'Ada', color: '#f00' })
    const aId = a.doc.clientID
    await waitFor(() => b.provider.awareness.getStates().get(aId)?.user?.name === 'Ada', "Ada's state at B")
    // A joiner after the fact is told about existing states too.
    const c = client(s, 'room-aw')
    await waitFor(() => c.provider.awareness.getStates().get(aId)?.user?.name === 'Ada', "Ada's state at late joiner")
    a.provider.disconnect()
    await waitFor(() => !b.provider.awareness.getStates().has(aId), "Ada's state to vanish at B")
    await waitFor(() => !c.provider.awareness.getStates().has(aId), "Ada's state to vanish at C")
  })

  test("[S2] [S43] stock clients re-sending peers' awareness are neither penalized nor rate limited", async () => {
    // Stock y-websocket sends every peer's awareness change back to the server. With five
    // clients moving their cursors, that is four echoes per move: none may count against them.
    const s = await server({ MAX_OFFENCES: '2', MAX_MESSAGES_PER_SECOND: '60', MAX_MESSAGE_BURST: '60' })
    const clients = Array.from({ length: 5 }, () => client(s, 'room-busy'))
    await synced(...clients)
    const closes: number[] = []
    for (const c of clients) c.provider.on('connection-close', (e: { code: number } | null) => e && closes.push(e.code))
    for (let move = 0; move < 40; move++) {
      for (const c of clients) c.provider.awareness.setLocalStateField('cursor', { x: move, y: c.doc.clientID % 100 })
      await sleep(30)
    }
    await waitFor(
      () => clients.every((c) => [...c.provider.awareness.getStates().values()].filter((st) => st.cursor?.x === 39).length === 5),
      'everyone to see every final cursor',
    )
    expect(closes).toEqual([])
    expect(clients.every((c) => c.provider.wsconnected)).toBe(true)
  })

  test('[S3] a socket that stops answering pings is terminated and its awareness removed', async () => {
    const s = await server({ HEARTBEAT_INTERVAL_MS: '150' })
    // A client whose socket never answers pings: it looks alive to itself but is dead to the server.
    class Deaf extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { autoPong: false })
      }
    }
    const deafDoc = new Y.Doc()
    const { WebsocketProvider } = await import('y-websocket')
    const deaf = new WebsocketProvider(s.wsUrl, 'room-hb', deafDoc, {
      WebSocketPolyfill: Deaf as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      connect: true,
    })
    defer(() => deaf.destroy())
    const watcher = client(s, 'room-hb')
    deaf.awareness.setLocalStateField('user', { name: 'Ghost' })
    await waitFor(() => watcher.provider.awareness.getStates().get(deafDoc.clientID)?.user?.name === 'Ghost', 'ghost visible')
    await waitFor(() => !watcher.provider.awareness.getStates().has(deafDoc.clientID), 'ghost removed by heartbeat', 3000)
    // The healthy watcher answered every ping and is still connected.
    expect(watcher.provider.wsconnected).toBe(true)
  })

  test('[S4] a client alone in a quiet room gets keep-alive frames', async () => {
    const s = await server({ HEARTBEAT_INTERVAL_MS: '100' })
    const c = raw(s, 'room-quiet')
    await c.opened
    await sleep(500)
    const keepalives = c.frames.filter((f) => Buffer.from(f).equals(Buffer.from(KEEPALIVE_FRAME)))
    expect(keepalives.length).toBeGreaterThanOrEqual(2)
    expect(c.ws.readyState).toBe(WebSocket.OPEN)
  })

  test('[S5] the server never echoes a client its own update or awareness', async () => {
    const s = await server()
    const a = raw(s, 'room-echo')
    const b = raw(s, 'room-echo')
    await Promise.all([a.opened, b.opened])
    await waitFor(() => a.frames.length > 0 && b.frames.length > 0, 'sync step 1 from the server')
    const before = a.frames.length
    const doc = new Y.Doc()
    doc.getArray('x').push(['hello'])
    a.send(encodeUpdate(Y.encodeStateAsUpdate(doc)))
    const aw = encoding.createEncoder()
    encoding.writeVarUint(aw, 1)
    const entry = encoding.createEncoder()
    encoding.writeVarUint(entry, 1)
    encoding.writeVarUint(entry, 77)
    encoding.writeVarUint(entry, 1)
    encoding.writeVarString(entry, '{"cursor":1}')
    encoding.writeVarUint8Array(aw, encoding.toUint8Array(entry))
    a.send(encoding.toUint8Array(aw))
    await waitFor(
      () => b.frames.some((f) => parseMessage(f).type === 'sync-update') && b.frames.some((f) => parseMessage(f).type === 'awareness'),
      'B to receive the update and the awareness',
    )
    await sleep(100)
    expect(a.frames.slice(before).map((f) => parseMessage(f).type)).toEqual([])
  })

  test.each([5, 20])('[S5] in a room of %i peers, updates sent together reach every other peer and never their sender', async (peers) => {
    // A long flush interval gathers the round's updates into one flush: rooms of up to 16
    // peers get them as separate frames, bigger rooms merged. Either way: all, no echo.
    const s = await server({ FLUSH_INTERVAL_MS: '300' })
    const clients = Array.from({ length: peers }, () => raw(s, `room-together-${peers}`))
    await Promise.all(clients.map((c) => c.opened))
    const received = clients.map(() => new Y.Doc())
    const sendItem = (i: number, item: string) => {
      const doc = new Y.Doc()
      doc.clientID = 1000 * peers + i
      doc.getArray('items').push([item])
      clients[i]!.send(encodeUpdate(Y.encodeStateAsUpdate(doc)))
    }
    const readAll = () =>
      clients.forEach((c, i) => {
        for (const frame of c.frames.splice(0)) {
          const message = parseMessage(frame)
          if (message.type === 'sync-update' || message.type === 'sync-step2') Y.applyUpdate(received[i]!, message.update)
        }
      })
    // Peer 0 opens a flush window; everyone's item lands in the next flush together.
    sendItem(0, 'opener')
    await sleep(20)
    clients.forEach((_, i) => i > 0 && sendItem(i, `item-${i}`))
    await waitFor(() => {
      readAll()
      return received.every((doc) => doc.getArray('items').length === peers - 1)
    }, "every peer to hold every other peer's item")
    await sleep(400)
    readAll()
    received.forEach((doc, i) => {
      const items = doc.getArray<string>('items').toArray()
      expect(items).not.toContain(i === 0 ? 'opener' : `item-${i}`)
      const expected = clients.map((_, j) => (j === 0 ? 'opener' : `item-${j}`)).filter((_, j) => j !== i)
      expect(items.sort()).toEqual(expected.sort())
    })
  })

  test('[S54] a busy room sends what arrived during FLUSH_INTERVAL_MS together; the first change after a pause goes out alone', async () => {
    // Rooms over 16 peers get one merged frame per flush, so the frames a watcher gets
    // show the flushes: the opener alone, then one frame for the burst that followed it.
    const s = await server({ FLUSH_INTERVAL_MS: '400' })
    const peers = Array.from({ length: 18 }, () => raw(s, 'room-cadence'))
    await Promise.all(peers.map((p) => p.opened))
    await waitFor(() => peers.every((p) => p.frames.length > 0), 'every peer to get sync step 1')
    const [writer, ...watchers] = peers as [(typeof peers)[0], ...typeof peers]
    const updateFrames = (frames: Uint8Array[]) => frames.map((f) => parseMessage(f)).filter((m) => m.type === 'sync-update')
    for (const w of watchers) w.frames.splice(0)
    const doc = new Y.Doc()
    const send = (item: string) => {
      const before = Y.encodeStateVector(doc)
      doc.getArray('items').push([item])
      writer.send(encodeUpdate(Y.encodeStateAsUpdate(doc, before)))
    }
    send('opener')
    await waitFor(() => watchers.every((w) => updateFrames(w.frames).length === 1), 'the opener to reach everyone')
    // Spread over a quarter of the interval: separate turns, one flush.
    for (let i = 0; i < 5; i++) {
      send(`burst-${i}`)
      await sleep(20)
    }
    await waitFor(() => watchers.every((w) => updateFrames(w.frames).length >= 2), 'the burst to reach everyone')
    await sleep(500)
    for (const w of watchers) {
      const updates = updateFrames(w.frames)
      expect(updates).toHaveLength(2)
      const got = new Y.Doc()
      for (const u of updates) if (u.type === 'sync-update') Y.applyUpdate(got, u.update)
      expect(got.getArray('items').toJSON()).toEqual(['opener', 'burst-0', 'burst-1', 'burst-2', 'burst-3', 'burst-4'])
    }
  })

  test('[S133] a busy server sends less often, up to FLUSH_INTERVAL_BUSY_MS, and nothing is lost; calm again, it goes back', async () => {
    const s = await server({ FLUSH_INTERVAL_MS: '20', FLUSH_INTERVAL_BUSY_MS: '60' })
    const fixed = await server({ FLUSH_INTERVAL_MS: '20', FLUSH_INTERVAL_BUSY_MS: '20' })
    const interval = async (port: number) => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      return Number(/^sketchroom_flush_interval_ms (\d+)/m.exec(metrics)?.[1])
    }
    const pairs = [s, fixed].map((srv) => [client(srv, 'room-load'), client(srv, 'room-load')] as const)
    await synced(...pairs.flat())
    expect(await interval(s.port)).toBe(20)
    // Both keep writing, so both servers' rooms keep asking to flush.
    let n = 0
    const writing = setInterval(() => {
      n++
      for (const [writer] of pairs) writer.doc.getArray<number>('n').push([n])
    }, 5)
    defer(() => clearInterval(writing))
    // This process (and so both servers in it) kept ~90 % busy.
    const burning = setInterval(() => {
      const until = Date.now() + 18
      while (Date.now() < until);
    }, 20)
    defer(() => clearInterval(burning))
    await waitFor(async () => (await interval(s.port)) === 60, 'the interval to stretch to 60 ms', 10_000)
    expect(await interval(fixed.port)).toBe(20)
    clearInterval(burning)
    await waitFor(async () => (await interval(s.port)) === 20, 'the interval to come back to 20 ms', 10_000)
    clearInterval(writing)
    for (const [writer, reader] of pairs) {
      await waitFor(() => reader.doc.getArray('n').length === n, 'every write at the reader')
      expect(reader.doc.getArray('n').toJSON()).toEqual(writer.doc.getArray('n').toJSON())
    }
  })

  test('[S6] unknown message types are ignored and the connection stays usable', async () => {
    const s = await server()
    const a = raw(s, 'room-unknown')
    const b = client(s, 'room-unknown')
    await Promise.all([a.opened, synced(b)])
    a.send(Uint8Array.of(42, 1, 2, 3))
    a.send(Uint8Array.of(3)) // query awareness: answered only if someone has a state
    const doc = new Y.Doc()
    doc.getArray('x').push(['after unknown'])
    a.send(encodeUpdate(Y.encodeStateAsUpdate(doc)))
    await waitFor(() => b.doc.getArray('x').toJSON()[0] === 'after unknown', 'the update after an unknown message')
    expect(a.ws.readyState).toBe(WebSocket.OPEN)
  })

  test('[S7] bad room ids are refused at the upgrade with 400 and a reason, creating no room', async () => {
    const s = await server()
    const bad = ['..', '../other', '%2E%2E', 'caf\u00e9', 'a%2Fb', '..%2F..%2Fetc', 'caf%C3%A9', 'room.1', 'a b', 'x'.repeat(129), '']
    for (const id of bad) {
      const { status, body } = await upgradeRefusal(s.port, `/sync/${id}`)
      expect(status, id).toBe(400)
      expect(body, id).toMatch(/room id/)
    }
    const nested = await upgradeRefusal(s.port, '/sync/a/b')
    expect(nested.status).toBe(400)
    expect(s.sync.health().rooms).toBe(0)
    // The longest valid id works.
    const ok = raw(s, 'y'.repeat(128))
    await ok.opened
  })
})

describe('rooms', () => {
  test('[S8] concurrent joins of an unloaded room load it once', async () => {
    const dir = tempDir()
    const inner = new SqliteStore({ file: sqliteFile({ DATA_DIR: dir }) })
    let loads = 0
    const store: Store = {
      load: async (id) => {
        loads++
        await sleep(50) // a slow store makes the joins overlap for sure
        return inner.load(id)
      },
      append: (id, u) => inner.append(id, u),
      compact: (id, s) => inner.compact(id, s),
      close: () => inner.close(),
      catalog: inner.catalog,
    }
    const s = await server({ DATA_DIR: dir }, { store })
    const clients = Array.from({ length: 8 }, () => client(s, 'room-once'))
    await synced(...clients)
    expect(loads).toBe(1)
    clients[0]!.doc.getArray('x').push([1])
    await waitFor(() => clients.every((c) => c.doc.getArray('x').length === 1), 'everyone to see the edit')
  })
})

describe('operations', () => {
  test('[S18] /healthz and /metrics', async () => {
    const s = await server()
    const c = client(s, 'room-ops')
    await synced(c)
    c.doc.getArray('x').push([1])
    await sleep(50)
    const health = await fetch(`${s.url.replace('localhost', '127.0.0.1')}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok', rooms: 1, connections: 1 })
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text()
    for (const name of [
      'sketchroom_rooms 1',
      'sketchroom_connections 1',
      'sketchroom_messages_in_total',
      'sketchroom_messages_out_total',
      'sketchroom_bytes_in_total',
      'sketchroom_bytes_out_total',
      'sketchroom_store_append_seconds_count',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(metrics).toContain(name)
    }
    expect(Number(/sketchroom_store_append_seconds_count (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1)
  })
})
