import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { encodeUpdate } from '../../server/protocol/messages'
import { SqliteStore } from '../../server/storage/SqliteStore'
import { sqliteFile } from '../../server/config'
import { forceGc, sleep, synced, testScope, type TestServer, waitFor } from '../helpers'

const { server, client, raw } = testScope()

function frame(...parts: Array<(e: encoding.Encoder) => void>): Uint8Array {
  const e = encoding.createEncoder()
  for (const part of parts) part(e)
  return encoding.toUint8Array(e)
}
const uint = (n: number) => (e: encoding.Encoder) => encoding.writeVarUint(e, n)
const bytes = (b: Uint8Array) => (e: encoding.Encoder) => encoding.writeUint8Array(e, b)
const lenBytes = (b: Uint8Array) => (e: encoding.Encoder) => encoding.writeVarUint8Array(e, b)

function validUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getArray('bad').push([text, { nested: text.repeat(4) }])
  return Y.encodeStateAsUpdate(doc)
}

/** Two honest clients editing through the whole case; they must not notice the offender. */
async function honestPair(s: TestServer, room: string) {
  const a = client(s, room)
  const b = client(s, room)
  await synced(a, b)
  a.doc.getArray('good').push(['before'])
  await waitFor(() => b.doc.getArray('good').length === 1, 'the first honest edit')
  return {
    a,
    b,
    async stillWorking(label: string) {
      b.doc.getArray('good').push([label])
      await waitFor(() => a.doc.getArray('good').toJSON().includes(label), `honest edit "${label}" after the bad frame`)
      expect(a.provider.wsconnected && b.provider.wsconnected).toBe(true)
    },
  }
}

describe('bad input', () => {
  test('[S14] a frame over MAX_MESSAGE_BYTES closes its connection with 1009 and nobody else is affected', async () => {
    const s = await server({ MAX_MESSAGE_BYTES: '4096' })
    const honest = await honestPair(s, 'room-big')
    const bad = raw(s, 'room-big')
    await bad.opened
    const big = new Y.Doc()
    big.getText('t').insert(0, 'x'.repeat(10_000))
    bad.send(encodeUpdate(Y.encodeStateAsUpdate(big)))
    const closed = await bad.closed
    expect(closed.code).toBe(1009)
    await honest.stillWorking('after-oversize')
    expect(honest.a.doc.getText('t').length).toBe(0)
  })

  const valid = validUpdate('malicious')
  const cases: Array<[string, Uint8Array | string]> = [
    ['truncated varint', Uint8Array.of(0x80)],
    ['truncated sync type', Uint8Array.of(0)],
    ['payload shorter than its length', frame(uint(0), uint(2), uint(200), bytes(valid.subarray(0, 20)))],
    ['trailing bytes after a sync message', frame(uint(0), uint(2), lenBytes(valid), uint(7))],
    ['garbage update (truncated valid update)', frame(uint(0), uint(2), lenBytes(valid.subarray(0, valid.length - 6)))],
    ['garbage update (random bytes)', frame(uint(0), uint(2), lenBytes(Uint8Array.from([5, 200, 3, 99, 1, 250, 250, 250, 7, 7, 7])))],
    ['garbage sync step 2', frame(uint(0), uint(1), lenBytes(Uint8Array.of(9, 9, 9, 9, 9)))],
    ['unknown sync subtype', frame(uint(0), uint(9), lenBytes(valid))],
    ['awareness with a count it does not hold', frame(uint(1), lenBytes(frame(uint(50), uint(1))))],
    ['awareness with a truncated state', frame(uint(1), lenBytes(frame(uint(1), uint(5), uint(1), uint(100), bytes(Uint8Array.of(123)))))],
    ['text frame', '{"type":"update"}'],
  ]

  test.each(cases)('[S15] malformed frame, %s: 4400 for that connection only, nothing stored', async (name, payload) => {
    const s = await server()
    const room = `room-${name.replace(/[^a-z]/g, '')}`.slice(0, 60)
    const honest = await honestPair(s, room)
    const bad = raw(s, room)
    await bad.opened
    bad.send(payload)
    const closed = await bad.closed
    expect(closed.code).toBe(4400)
    expect(closed.reason).toMatch(/malformed message/)
    await honest.stillWorking(`after ${name}`)
    expect(honest.a.doc.getArray('bad').length).toBe(0)
    // Nothing from the bad frame reached the store.
    await s.close()
    const store = new SqliteStore({ file: sqliteFile({ DATA_DIR: s.dataDir }) })
    const stored = await store.load(room)
    await store.close()
    const doc = new Y.Doc()
    Y.applyUpdate(doc, stored!.update)
    expect(doc.getArray('bad').length).toBe(0)
    expect(doc.getArray('good').toJSON()).toEqual(['before', `after ${name}`])
  })

  test('[S16] a client that stops reading is cut off and server memory stays flat', async () => {
    const s = await server({
      MAX_BUFFERED_BYTES: process.env.TEST_MAX_BUFFERED ?? String(512 * 1024),
      MAX_DOC_BYTES: String(300 * 1024),
      MAX_MESSAGES_PER_SECOND: '100000',
      MAX_MESSAGE_BURST: '100000',
    })
    const room = 'room-slow'
    const slow = raw(s, room)
    await slow.opened
    // Stop reading: the kernel buffers fill, then bytes would pile up in the server.
    ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const writer = client(s, room)
    const reader = client(s, room)
    await synced(writer, reader)
    forceGc()
    const memory = () => {
      const m = process.memoryUsage()
      return m.heapUsed + m.external
    }
    const before = memory()
    // Overwriting one key: ~50 MiB of traffic while the document itself stays small.
    const chunk = 'y'.repeat(64 * 1024)
    for (let i = 0; i < 800; i++) {
      writer.doc.getMap('m').set('blob', chunk + i)
      if (i % 10 === 0) await sleep(2)
    }
    await waitFor(() => reader.doc.getMap('m').get('blob') === chunk + 799, 'the honest reader to get the last write', 30_000)
    await waitFor(() => s.sync.connectionCount === 2, 'the slow consumer to be cut off')
    // What is retained, not what is still on its way: everything stored, sockets drained.
    await s.sync.rooms.get(room)?.settle()
    await waitFor(() => writer.provider.ws?.bufferedAmount === 0, "the writer's socket to drain")
    await sleep(200)
    forceGc()
    const grown = memory() - before
    // Had the server kept the slow client's share queued, it would hold ~50 MiB more.
    expect(grown).toBeLessThan(16 * 1024 * 1024)
    expect(writer.provider.wsconnected && reader.provider.wsconnected).toBe(true)
  })
})
