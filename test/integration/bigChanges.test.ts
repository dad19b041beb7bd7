/**
 * Any change that fits the board fits the pipe ([S30]), and a server-wide budget keeps
 * many big changes at once from taking the process's memory ([S31]).
 */
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { encodeSyncStep1, encodeUpdate, parseMessage } from '../../server/protocol/messages'
import { TokenSigner } from '../../server/http/tokens'
import { geoShape, records, seedBoard } from '../abuse/board'
import { connectClient, synced, testScope, type TestServer, waitFor } from '../helpers'

const { server, client, defer } = testScope()

/** Shapes with ~900 bytes each: `count` of them make a board of about count × 900 bytes. */
function addShapes(doc: Y.Doc, count: number, prefix: string): void {
  const kv = records(doc)
  doc.transact(() => {
    for (let i = 0; i < count; i++) {
      const id = `shape:${prefix}${i}`
      kv.set(id, geoShape(id, { url: `https://example.test/${prefix}/${i}/${'p'.repeat(400)}` }))
    }
  })
}

const shapeCount = (doc: Y.Doc) => [...records(doc).map.keys()].filter((k) => k.startsWith('shape:')).length

/** A raw socket that finished the handshake (the server answered its sync step 1). */
async function joinedRaw(s: TestServer, path: string) {
  const ws = new WebSocket(`${s.wsUrl}/${path}`)
  defer(() => ws.terminate())
  const frames: Uint8Array[] = []
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  ws.on('message', (data: Buffer) => frames.push(new Uint8Array(data)))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
  await waitFor(() => frames.some((f) => parseMessage(f).type === 'sync-step2'), 'the server to answer sync step 1')
  return { ws, frames, closed }
}

describe('[S30] big changes', () => {
  test('a stock client whose document holds more than 4 MiB before it first connects gets all of it to a peer', async () => {
    const s = await server()
    const peer = client(s, 'room-offline-hour')
    await synced(peer)
    const doc = new Y.Doc()
    seedBoard(doc, [])
    addShapes(doc, 5200, 'offline')
    expect(Y.encodeStateAsUpdate(doc).length).toBeGreaterThan(4 * 2 ** 20)
    const writer = connectClient(s.wsUrl, 'room-offline-hour', doc)
    defer(() => writer.destroy())
    const closes: number[] = []
    writer.provider.on('connection-close', (event: { code: number } | null) => event && closes.push(event.code))
    await waitFor(() => shapeCount(peer.doc) === 5200, 'every shape at the peer', 60_000)
    expect(closes).toEqual([])
    // And in the store: a fresh client gets it all.
    const fresh = client(s, 'room-offline-hour')
    await waitFor(() => shapeCount(fresh.doc) === 5200, 'every shape for a fresh client', 60_000)
  })

  test('a paste-sized single transaction of more than 3 MiB reaches the peer', async () => {
    const s = await server()
    const [writer, peer] = [client(s, 'room-paste'), client(s, 'room-paste')]
    await synced(writer, peer)
    writer.doc.transact(() => {
      seedBoard(writer.doc, [])
      addShapes(writer.doc, 3800, 'paste')
    })
    await waitFor(() => shapeCount(peer.doc) === 3800, 'the pasted shapes at the peer', 60_000)
  })

  test('a view-only connection, and one still in its handshake, keep MAX_MESSAGE_BYTES: 1009 with a reason', async () => {
    const secret = 'a-secret-for-big-change-tests'
    const s = await server({ AUTH_SECRET: secret, MAX_MESSAGE_BYTES: '65536' })
    const view = new TokenSigner(secret).sign({ roomId: 'room-viewer', mode: 'view', expiresAt: null })
    const big = new Y.Doc()
    addShapes(big, 200, 'big')
    const frame = encodeUpdate(Y.encodeStateAsUpdate(big))
    expect(frame.length).toBeGreaterThan(65536)
    const viewer = await joinedRaw(s, view)
    viewer.ws.send(frame)
    const closed = await viewer.closed
    expect(closed.code).toBe(1009)
    expect(closed.reason).toMatch(/view-only/)
    // An edit connection that has not sent sync step 1 yet: still the small limit.
    const early = new WebSocket(`${s.wsUrl}/room-viewer`)
    defer(() => early.terminate())
    await new Promise((resolve) => early.once('open', resolve))
    early.send(frame)
    const earlyClosed = await new Promise<number>((resolve) => early.on('close', (code) => resolve(code)))
    expect(earlyClosed).toBe(1009)
    // The same frame from an editor in its room is a change like any other.
    const editor = await joinedRaw(s, 'room-viewer')
    editor.ws.send(frame)
    await waitFor(() => shapeCount(s.sync.rooms.get('room-viewer')!.doc) === 200, 'the editor’s change applied')
  })
})

describe('[S31] the in-flight budget', () => {
  test('many big senders at once against a small budget: each is stored or told to retry (1013), memory stays bounded, others carry on', async () => {
    const MiB = 2 ** 20
    const s = await server({ MAX_DOC_BYTES: String(4 * MiB), MAX_INFLIGHT_BYTES: String(5 * MiB), MAX_INFLIGHT_WAIT_MS: '2000' })
    const honest = [client(s, 'room-honest'), client(s, 'room-honest')]
    await synced(...honest)
    const senders = await Promise.all(Array.from({ length: 6 }, (_, i) => joinedRaw(s, `room-big-${i}`)))
    const rssBefore = process.memoryUsage().rss
    let peakRss = rssBefore
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20)
    defer(() => clearInterval(sampler))
    const payloads = senders.map((_, i) => {
      const doc = new Y.Doc()
      addShapes(doc, 3500, `s${i}-`)
      return encodeUpdate(Y.encodeStateAsUpdate(doc))
    })
    expect(payloads[0]!.length).toBeGreaterThan(2.5 * MiB)
    senders.forEach((sender, i) => sender.ws.send(payloads[i]!))
    // Meanwhile, an ordinary edit elsewhere still goes through.
    honest[0]!.doc.getArray('list').push(['during'])
    await waitFor(() => honest[1]!.doc.getArray('list').length === 1, 'an honest edit during the big ones', 30_000)
    const outcomes = await Promise.all(
      senders.map(async (sender, i) => {
        const room = `room-big-${i}`
        const stored = waitFor(
          () => (s.sync.rooms.get(room)?.doc ? shapeCount(s.sync.rooms.get(room)!.doc) === 3500 : false),
          room,
          60_000,
        ).then(() => 'stored' as const)
        const result = await Promise.race([stored, sender.closed])
        return result
      }),
    )
    clearInterval(sampler)
    for (const outcome of outcomes) {
      if (outcome === 'stored') continue
      expect(outcome.code).toBe(1013)
      expect(outcome.reason).toMatch(/busy/)
    }
    expect(outcomes.filter((o) => o === 'stored').length).toBeGreaterThan(0)
    // The test process holds all six payloads itself (~17 MiB); the server took its share
    // in turns, never all at once.
    expect(peakRss - rssBefore).toBeLessThan(600 * MiB)
    // The budget did the queueing: never more in flight than it allows, and some waited.
    expect(s.sync.inflight.peak).toBeLessThanOrEqual(5 * MiB)
    expect(s.sync.inflight.waited).toBeGreaterThan(0)
    expect(s.sync.inflight.inUse).toBe(0)
  })
})
