import fs from 'node:fs'
import { expect, test } from 'vitest'
import * as Y from 'yjs'
import { encodeUpdate } from '../../server/protocol/messages'
import { geoShape, records, seedBoard } from '../abuse/board'
import { connectClient, forceGc, rawClient, spawnServer, startTestServer, synced, tempDir, testScope, waitFor } from '../helpers'

const { server, client, defer } = testScope()

test('[S53] a still room goes dormant, serves joins, reconnects and cursors, and wakes on the next change', async () => {
  const s = await server({ DORMANT_AFTER_MS: '200' })
  const a = client(s, 'sleepy')
  const b = client(s, 'sleepy')
  await synced(a, b)
  seedBoard(a.doc)
  await waitFor(() => records(b.doc).has('shape:geo1'), 'the board at B')
  const room = () => s.sync.rooms.get('sleepy')!
  await waitFor(() => room().isDormant, 'the room to go dormant')

  // A fresh joiner gets the whole board from the encoded state.
  const c = client(s, 'sleepy')
  await synced(c)
  expect(records(c.doc).has('shape:geo1')).toBe(true)
  // A reconnecting client with a state vector gets a diff; B edits while offline.
  b.provider.disconnect()
  records(b.doc).set('shape:offline', geoShape('shape:offline'))
  // Cursors flow without waking the document.
  a.provider.awareness.setLocalStateField('user', { name: 'Ada' })
  await waitFor(() => c.provider.awareness.getStates().get(a.doc.clientID)?.user?.name === 'Ada', 'a cursor while dormant')
  expect(room().isDormant).toBe(true)
  b.provider.connect()
  await waitFor(() => records(a.doc).has('shape:offline') && records(c.doc).has('shape:offline'), "B's offline edit everywhere")
  // That edit woke the room; it goes back to sleep once still again, and edits keep flowing.
  await waitFor(() => room().isDormant, 'the room to sleep again')
  records(c.doc).set('shape:after', geoShape('shape:after'))
  await waitFor(() => records(a.doc).has('shape:after') && records(b.doc).has('shape:after'), 'an edit after waking')

  await s.close()
  const again = await startTestServer({ DATA_DIR: s.dataDir })
  defer(() => again.close())
  const d = client(again, 'sleepy')
  await synced(d)
  for (const key of ['shape:geo1', 'shape:offline', 'shape:after']) expect(records(d.doc).has(key), key).toBe(true)
})

test('[S53] dormant rooms take far less memory than live ones', async () => {
  const s = await server({ DORMANT_AFTER_MS: '300' })
  const source = new Y.Doc()
  seedBoard(
    source,
    Array.from({ length: 200 }, (_, i) => geoShape(`shape:g${i}`, { w: 10 + i })),
  )
  const frame = encodeUpdate(Y.encodeStateAsUpdate(source))
  const rooms = 100
  const sockets = []
  forceGc()
  const used = () => {
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers // encoded states live in ArrayBuffers, outside the JS heap
  }
  const empty = used()
  for (let i = 0; i < rooms; i++) {
    const r = rawClient(`${s.wsUrl}/mem-${i}`)
    defer(() => r.ws.terminate())
    await r.opened
    r.send(frame)
    sockets.push(r)
  }
  await waitFor(
    () => s.sync.rooms.size === rooms && [...s.sync.rooms.values()].every((r) => r.doc.getArray('records').length === 202),
    'all rooms written',
    30_000,
  )
  forceGc()
  const live = used() - empty
  await waitFor(() => [...s.sync.rooms.values()].every((r) => r.isDormant), 'all rooms dormant', 30_000)
  forceGc()
  const dormant = used() - empty
  console.log(
    `[S53] ${rooms} rooms of 200 shapes: live ${(live / rooms / 1024).toFixed(0)} KiB/room, dormant ${(dormant / rooms / 1024).toFixed(0)} KiB/room`,
  )
  expect(dormant).toBeLessThan(live / 2)
})

/** A process's resident memory, as the operating system counts it (what an operator sees). */
function rssOf(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024
}

test('[S130] once boards have gone to sleep, the server gives their memory back to the operating system', async () => {
  const child = await spawnServer({ DATA_DIR: tempDir(), DORMANT_AFTER_MS: '500' })
  defer(() => child.child.kill('SIGKILL'))
  const pid = child.child.pid!
  const wsUrl = `ws://127.0.0.1:${child.port}/sync`
  const source = new Y.Doc()
  seedBoard(
    source,
    Array.from({ length: 200 }, (_, i) => geoShape(`shape:g${i}`, { w: 10 + i })),
  )
  const frame = encodeUpdate(Y.encodeStateAsUpdate(source))
  // Warm the server's code paths, then take the baseline.
  const warm = rawClient(`${wsUrl}/warm-up`)
  defer(() => warm.ws.terminate())
  await warm.opened
  warm.send(frame)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const baseline = rssOf(pid)
  const rooms = 300
  for (let i = 0; i < rooms; i++) {
    const r = rawClient(`${wsUrl}/release-${i}`)
    defer(() => r.ws.terminate())
    await r.opened
    r.send(frame)
  }
  // Every board stored: a fresh join of the last one gets all 200 shapes.
  const last = connectClient(wsUrl, `release-${rooms - 1}`)
  defer(() => last.destroy())
  await waitFor(() => records(last.doc).map.size >= 200, 'the last board written', 30_000)
  last.destroy()
  const peak = rssOf(pid)
  expect(peak - baseline).toBeGreaterThan(rooms * 100 * 1024) // live boards are big: the test means something
  let after = peak
  await waitFor(
    () => {
      after = rssOf(pid)
      return after - baseline < (peak - baseline) / 3
    },
    'the memory of the sleeping boards to go back to the OS',
    20_000,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}: RSS ${mib(baseline)} → peak ${mib(peak)} → ${mib(after)} MiB`)
  })
  console.log(`[S130] ${rooms} boards of 200 shapes: RSS ${mib(baseline)} → ${mib(peak)} while live → ${mib(after)} MiB asleep`)
})

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0)
}
