import Database from 'better-sqlite3'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { loadConfig, sqliteFile } from '../../server/config'
import { SqliteStore } from '../../server/storage/SqliteStore'
import type { Store } from '../../server/storage/Store'
import {
  connectClient,
  rawClient,
  sleep,
  spawnServer,
  startTestServer,
  synced,
  tempDir,
  type TestClient,
  testScope,
  waitFor,
} from '../helpers'

const { defer } = testScope()

function track(c: TestClient): TestClient {
  defer(() => c.destroy())
  return c
}

async function fetchState(port: number, room: string): Promise<Y.Doc> {
  const c = track(connectClient(`ws://127.0.0.1:${port}/sync`, room))
  await synced(c)
  return c.doc
}

describe('durability', () => {
  test('[S11] after kill -9 a restarted server serves every update any peer had received', async () => {
    const dataDir = tempDir()
    const first = await spawnServer({ DATA_DIR: dataDir })
    defer(() => first.child.kill('SIGKILL'))
    const url = `ws://127.0.0.1:${first.port}/sync`
    const a = track(connectClient(url, 'room-kill'))
    const b = track(connectClient(url, 'room-kill'))
    await synced(a, b)
    // What each peer received from the other, i.e. what the server relayed.
    const received = new Set<string>()
    for (const c of [a, b]) {
      c.doc.getArray<string>('log').observe((event) => {
        if (event.transaction.local) return
        for (const item of event.changes.added) for (const v of item.content.getContent()) received.add(v as string)
      })
    }
    let n = 0
    let writing = true
    const writer = (async () => {
      while (writing) {
        a.doc.getArray<string>('log').push([`a${n}`])
        b.doc.getArray<string>('log').push([`b${n}`])
        n++
        await sleep(1)
      }
    })()
    await waitFor(() => received.size > 200, 'a few hundred relayed edits')
    first.child.kill('SIGKILL')
    await first.exited
    writing = false
    await writer
    // The clients must not resend anything: what the restarted server has, it stored itself.
    const seen = new Set(received)
    a.destroy()
    b.destroy()
    expect(seen.size).toBeGreaterThan(200)

    const second = await spawnServer({ DATA_DIR: dataDir })
    defer(() => second.child.kill('SIGKILL'))
    const restored = await fetchState(second.port, 'room-kill')
    const stored = new Set(restored.getArray<string>('log').toArray())
    const missing = [...seen].filter((v) => !stored.has(v))
    expect(missing).toEqual([])
  })

  test('[S12] [S19] SIGTERM stores everything, closes sockets with 1001, exits 0; restart is byte-identical', async () => {
    const dataDir = tempDir()
    const first = await spawnServer({ DATA_DIR: dataDir })
    defer(() => first.child.kill('SIGKILL'))
    const url = `ws://127.0.0.1:${first.port}/sync`
    const rooms = ['room-one', 'room-two', 'room-three']
    const before = new Map<string, Uint8Array>()
    for (const [i, room] of rooms.entries()) {
      const a = track(connectClient(url, room))
      const b = track(connectClient(url, room))
      await synced(a, b)
      for (let n = 0; n < 50; n++) {
        a.doc.getMap('shapes').set(`s${n}`, { x: n, y: i, label: `shape ${n}` })
        b.doc.getText('title').insert(0, `${n}`)
        if (n % 7 === 0) a.doc.getMap('shapes').delete(`s${n - 1}`)
      }
      await waitFor(
        () =>
          b.doc.getMap('shapes').size === a.doc.getMap('shapes').size && a.doc.getText('title').length === b.doc.getText('title').length,
        'peers to converge',
      )
      a.destroy()
      b.destroy()
      before.set(room, Y.encodeStateAsUpdate(await fetchState(first.port, room)))
    }
    const watcher = rawClient(`${url}/room-one`)
    defer(() => watcher.ws.terminate())
    await watcher.opened
    first.child.kill('SIGTERM')
    expect((await watcher.closed).code).toBe(1001)
    expect(await first.exited).toEqual({ code: 0, signal: null })
    expect(first.output()).toMatch(/"msg":"stopped"/)
    // New connections are refused once it stops: the port is closed.
    const second = await spawnServer({ DATA_DIR: dataDir })
    defer(() => second.child.kill('SIGKILL'))
    for (const room of rooms) {
      const after = Y.encodeStateAsUpdate(await fetchState(second.port, room))
      expect(Buffer.from(after).equals(Buffer.from(before.get(room)!)), room).toBe(true)
    }
  })

  test('[S13] the log is compacted past COMPACT_AFTER_BYTES and on unload, content unchanged', async () => {
    const s = await startTestServer({ COMPACT_AFTER_BYTES: '4096' })
    defer(() => s.close())
    const rows = () => {
      const db = new Database(sqliteFile({ DATA_DIR: s.dataDir }), { readonly: true })
      try {
        return (db.prepare('SELECT count(*) AS n FROM room_log WHERE room = ?').get('room-compact') as { n: number }).n
      } finally {
        db.close()
      }
    }
    const a = track(connectClient(s.wsUrl, 'room-compact'))
    await synced(a)
    for (let n = 0; n < 300; n++) {
      a.doc.getMap('shapes').set(`s${n % 40}`, { x: n, text: 'a fairly long label to grow the log '.repeat(2) })
      if (n % 20 === 0) await sleep(5)
    }
    await waitFor(() => s.sync.rooms.get('room-compact')?.doc.getMap('shapes').get('s19') !== undefined, 'the server to apply edits')
    await sleep(100)
    // 300 updates of ~150 bytes passed 4 KiB several times: far fewer rows than updates.
    expect(rows()).toBeLessThan(100)
    const expected = a.doc.getMap('shapes').toJSON()
    a.destroy()
    await waitFor(() => s.sync.health().rooms === 0, 'the room to unload')
    expect(rows()).toBe(1)
    expect((await fetchState(s.port, 'room-compact')).getMap('shapes').toJSON()).toEqual(expected)
  })

  test('[S10] a room that fails to load closes its joiners with 1011; nothing empty is served or stored', async () => {
    const dir = tempDir()
    const inner = new SqliteStore({ file: sqliteFile({ DATA_DIR: dir }) })
    const seed = new Y.Doc()
    seed.getArray('precious').push(['drawing'])
    await inner.append('room-fail', Y.encodeStateAsUpdate(seed))
    let failing = true
    const writes: string[] = []
    const store: Store = {
      load: async (id) => {
        if (failing) throw new Error('disk on fire')
        return inner.load(id)
      },
      append: (id, u) => (writes.push(id), inner.append(id, u)),
      compact: (id, st) => (writes.push(id), inner.compact(id, st)),
      close: () => inner.close(),
      catalog: inner.catalog,
    }
    const s = await startTestServer({ DATA_DIR: dir }, { store })
    defer(() => s.close())
    const joiners = [rawClient(`${s.wsUrl}/room-fail`), rawClient(`${s.wsUrl}/room-fail`)]
    for (const j of joiners) {
      const closed = await j.closed
      expect(closed.code).toBe(1011)
      expect(closed.reason).toMatch(/could not load/)
      expect(j.frames).toEqual([]) // not even a sync step 1 of an empty document
    }
    expect(s.sync.health().rooms).toBe(0)
    expect(writes).toEqual([])
    failing = false
    const doc = await fetchState(s.port, 'room-fail')
    expect(doc.getArray('precious').toJSON()).toEqual(['drawing'])
  })

  test('[S17] an invalid environment variable stops start-up naming it', async () => {
    expect(() => loadConfig({ MAX_MESSAGE_BYTES: 'lots' })).toThrow(/MAX_MESSAGE_BYTES="lots"/)
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT="70000": must be at most 65535/)
    expect(() => loadConfig({ LOG_LEVEL: 'chatty' })).toThrow(/LOG_LEVEL/)
    expect(() => loadConfig({ HEARTBEAT_INTERVAL_MS: '-5' })).toThrow(/HEARTBEAT_INTERVAL_MS/)
    expect(loadConfig({}).MAX_MESSAGE_BYTES).toBe(2 * 1024 * 1024)
    const failed = await spawnServer({ DATA_DIR: tempDir(), MAX_BUFFERED_BYTES: '12abc' }).then(
      () => null,
      (err: Error) => err.message,
    )
    expect(failed).toMatch(/exited \(1\)/)
    expect(failed).toMatch(/MAX_BUFFERED_BYTES="12abc"/)
  })
})
