import { expect, test } from 'vitest'
import * as Y from 'yjs'
import { encodeUpdate } from '../../server/protocol/messages'
import { geoShape, records, seedBoard } from '../abuse/board'
import { forceGc, rawClient, startTestServer, synced, testScope, waitFor } from '../helpers'

const { server, client, defer } = testScope()

test('[S53] a still room goes dormant, serves joins, reconnects and cursors, and wakes on the next change', async () => {
  const s = await server({ DORMANT_AFTER_MS: '200', HEARTBEAT_INTERVAL_MS: '100' })
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
  const s = await server({ DORMANT_AFTER_MS: '300', HEARTBEAT_INTERVAL_MS: '100' })
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
