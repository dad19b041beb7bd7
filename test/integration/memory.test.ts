import { afterAll, expect, test } from 'vitest'
import * as Y from 'yjs'
import { encodeSyncStep1, encodeUpdate, parseMessage } from '../../server/protocol/messages'
import { forceGc, rawClient, startTestServer, waitFor } from '../helpers'

test('[S9] opening and closing 1,000 rooms with data leaves the heap within 10 % of where it started', async () => {
  const s = await startTestServer()
  afterAll(() => s.close())
  // Raw clients keep the test's own memory out of the measurement: no client Y.Docs stay alive.
  const record = (i: number) => ({ id: `shape:${i}`, type: 'geo', x: i, y: i * 2, props: { w: 100, h: 80, text: `shape ${i}` } })
  const updateFor = (room: number) => {
    const doc = new Y.Doc()
    // Not the board's 'records': this test is about rooms, not tldraw validation.
    const items = doc.getArray('items')
    for (let i = 0; i < 20; i++) items.push([{ key: `shape:${room}-${i}`, val: record(i) }])
    return encodeUpdate(Y.encodeStateAsUpdate(doc))
  }
  const cycle = async (from: number, count: number) => {
    const batch = 50
    for (let start = from; start < from + count; start += batch) {
      const clients = Array.from({ length: batch }, (_, k) => {
        const c = rawClient(`${s.wsUrl}/mem-${start + k}`)
        return { c, update: updateFor(start + k) }
      })
      await Promise.all(clients.map(({ c }) => c.opened))
      for (const { c, update } of clients) {
        c.send(update)
        c.send(encodeSyncStep1(Uint8Array.of(0))) // answered after the update is stored
      }
      await waitFor(() => clients.every(({ c }) => c.frames.length >= 2), 'each room to store its update')
      for (const { c } of clients) c.ws.close()
      await Promise.all(clients.map(({ c }) => c.closed))
    }
    await waitFor(() => s.sync.health().rooms === 0, 'all rooms to unload', 30_000)
  }
  // Warm up: JIT, SQLite statement caches, ws internals.
  await cycle(0, 100)
  forceGc()
  const baseline = process.memoryUsage().heapUsed
  await cycle(100, 1000)
  forceGc()
  const after = process.memoryUsage().heapUsed
  expect(after).toBeLessThan(baseline * 1.1)
  // The rooms really held data: one reloads with its records.
  const check = rawClient(`${s.wsUrl}/mem-777`)
  await check.opened
  check.send(encodeSyncStep1(Uint8Array.of(0)))
  await waitFor(() => check.frames.length >= 2, 'the reloaded room')
  const doc = new Y.Doc()
  for (const frame of check.frames) {
    const message = parseMessage(frame)
    if (message.type === 'sync-step2') Y.applyUpdate(doc, message.update)
  }
  expect(doc.getArray('items').length).toBe(20)
  check.ws.close()
})
