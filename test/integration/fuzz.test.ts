/**
 * [S20] Seeded convergence fuzz. FUZZ_SEED replays a run; FUZZ_STEPS makes it longer.
 */
import { expect, test } from 'vitest'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { loadConfig, sqliteFile } from '../../server/config'
import { SqliteStore } from '../../server/storage/SqliteStore'
import { prng, sleep, startTestServer, tempDir, testScope, type TestServer, waitFor } from '../helpers'

const { defer } = testScope()

test('[S20] random edits, disconnects, delays and server restarts converge to one document, equal to the stored one', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const steps = Number(process.env.FUZZ_STEPS ?? 1500)
  const rnd = prng(seed)
  try {
    const dataDir = tempDir()
    let server: TestServer = await startTestServer({ DATA_DIR: dataDir })
    const port = server.port
    defer(() => server.close())

    // Every frame a client sends is delayed by a random few ms, in order (one TCP stream).
    class LaggyWebSocket extends WebSocket {
      private sendAt = 0
      override send(data: Parameters<WebSocket['send']>[0]): void {
        this.sendAt = Math.max(this.sendAt, Date.now() + rnd.int(15))
        setTimeout(() => {
          if (this.readyState === WebSocket.OPEN) super.send(data)
        }, this.sendAt - Date.now())
      }
    }
    const clients = Array.from({ length: 4 }, () => {
      const doc = new Y.Doc()
      const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, 'fuzz-room', doc, {
        WebSocketPolyfill: LaggyWebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
        maxBackoffTime: 100,
      })
      defer(() => provider.destroy())
      return { doc, provider }
    })

    for (let step = 0; step < steps; step++) {
      const c = clients[rnd.int(clients.length)]!
      const roll = rnd.next()
      if (roll < 0.35) {
        const arr = c.doc.getArray<number>('list')
        arr.insert(rnd.int(arr.length + 1), [step])
      } else if (roll < 0.45) {
        const arr = c.doc.getArray<number>('list')
        if (arr.length > 0) {
          const at = rnd.int(arr.length)
          arr.delete(at, Math.min(1 + rnd.int(3), arr.length - at))
        }
      } else if (roll < 0.65) {
        c.doc.getMap('shapes').set(`shape${rnd.int(20)}`, { x: rnd.int(1000), step })
      } else if (roll < 0.72) {
        c.doc.getMap('shapes').delete(`shape${rnd.int(20)}`)
      } else if (roll < 0.85) {
        const text = c.doc.getText('title')
        text.insert(rnd.int(text.length + 1), String.fromCharCode(97 + rnd.int(26)))
      } else if (roll < 0.93) {
        if (c.provider.shouldConnect) c.provider.disconnect()
        else c.provider.connect()
      } else if (roll < 0.95) {
        // Restart the server on the same port and data; clients reconnect by themselves.
        await server.close()
        server = await startTestServer({ DATA_DIR: dataDir, PORT: String(port) })
      }
      if (rnd.chance(0.3)) await sleep(rnd.int(10))
    }

    for (const c of clients) if (!c.provider.shouldConnect) c.provider.connect()
    // Y.Map key order depends on each replica's history; compare with sorted keys.
    const snapshot = (doc: Y.Doc) => {
      const shapes = doc.getMap('shapes').toJSON()
      const sorted = Object.fromEntries(
        Object.keys(shapes)
          .sort()
          .map((k) => [k, shapes[k]]),
      )
      return JSON.stringify({ list: doc.getArray('list').toJSON(), shapes: sorted, title: doc.getText('title').toString() })
    }
    await waitFor(
      () => clients.every((c) => c.provider.synced && snapshot(c.doc) === snapshot(clients[0]!.doc)),
      'all clients to converge',
      30_000,
    ).catch((err: unknown) => {
      for (const [i, c] of clients.entries()) {
        const store = c.doc.store
        console.error(
          `client ${i}: connected=${c.provider.wsconnected} synced=${c.provider.synced} pending=${Boolean(store.pendingStructs)} sv=${JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(c.doc))])}\n  ${snapshot(c.doc)}`,
        )
      }
      const room = server.sync.rooms.get('fuzz-room')
      if (room)
        console.error(
          `server: pending=${Boolean(room.doc.store.pendingStructs)} sv=${JSON.stringify([...Y.decodeStateVector(Y.encodeStateVector(room.doc))])}\n  ${snapshot(room.doc)}`,
        )
      throw err
    })
    await sleep(200)
    const final = snapshot(clients[0]!.doc)
    for (const c of clients) expect(snapshot(c.doc)).toBe(final)
    for (const c of clients) c.provider.destroy()
    await server.close()
    const store = new SqliteStore({ file: sqliteFile(loadConfig({ DATA_DIR: dataDir })) })
    const stored = await store.load('fuzz-room')
    await store.close()
    const storedDoc = new Y.Doc()
    Y.applyUpdate(storedDoc, stored!.update)
    expect(snapshot(storedDoc)).toBe(final)
  } catch (err) {
    console.error(`[S20] fuzz failed with FUZZ_SEED=${seed} FUZZ_STEPS=${steps}`)
    throw err
  }
})
