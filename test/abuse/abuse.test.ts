/**
 * The abuse battery: what hostile or broken clients send, and what must happen. After
 * every case the server still serves other rooms, and the attacked room loads in a fresh
 * client as a valid tldraw board.
 */
import net from 'node:net'
import * as encoding from 'lib0/encoding'
import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { META_KEY, SCHEMA_KEY } from '../../lib/board'
import { presenceIdForClient } from '../../lib/presence'
import { encodeAwareness, encodeSyncStep1, encodeUpdate } from '../../server/protocol/messages'
import {
  connectClient,
  type RawClient,
  rawClient,
  sleep,
  startTestServer,
  synced,
  type TestClient,
  testScope,
  type TestServer,
  upgradeRefusal,
  waitFor,
} from '../helpers'
import { assertValidBoard, geoShape, noteShape, records, schema, seedBoard, textShape } from './board'

const { defer } = testScope()

interface Scene {
  s: TestServer
  room: string
  /** An honest client that seeded the board and watches every record value it is shown. */
  honest: TestClient
  seen: Map<string, unknown[]>
  client(): TestClient
  raw(): RawClient
}

async function scene(env: Record<string, string> = {}, room = 'board'): Promise<Scene> {
  const s = await startTestServer(env)
  defer(() => s.close())
  const client = () => {
    const c = connectClient(s.wsUrl, room)
    defer(() => c.destroy())
    return c
  }
  const honest = client()
  await synced(honest)
  seedBoard(honest.doc)
  const seen = new Map<string, unknown[]>()
  records(honest.doc).on('change', (changes: Map<string, { newValue?: unknown }>) => {
    for (const [key, change] of changes) if (change.newValue !== undefined) seen.set(key, [...(seen.get(key) ?? []), change.newValue])
  })
  await waitFor(() => s.sync.rooms.get(room)?.doc.getArray('records').length === 5, 'the seeded board on the server')
  return {
    s,
    room,
    honest,
    seen,
    client,
    raw: () => {
      const r = rawClient(`${s.wsUrl}/${room}`)
      defer(() => r.ws.terminate())
      return r
    },
  }
}

/** What must hold after every case. */
async function afterCase(sc: Scene): Promise<void> {
  const other = connectClient(sc.s.wsUrl, `other-${Math.random().toString(36).slice(2, 8)}`)
  defer(() => other.destroy())
  await synced(other)
  const fresh = connectClient(sc.s.wsUrl, sc.room)
  defer(() => fresh.destroy())
  await synced(fresh)
  assertValidBoard(fresh.doc)
  expect(records(fresh.doc).has('shape:geo1')).toBe(true)
}

const frame = (...parts: number[]) => Uint8Array.from(parts)

function awarenessFrame(clientId: number, clock: number, state: unknown): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, clientId)
  encoding.writeVarUint(e, clock)
  encoding.writeVarString(e, JSON.stringify(state))
  return encodeAwareness([encoding.toUint8Array(e)])
}

function presence(clientId: number, extra: Record<string, unknown> = {}) {
  return {
    id: presenceIdForClient(clientId),
    typeName: 'instance_presence',
    userId: 'user:1',
    userName: 'Mallory',
    lastActivityTimestamp: null,
    color: '#FF0000',
    camera: null,
    selectedShapeIds: [],
    currentPageId: 'page:page',
    brush: null,
    scribbles: [],
    screenBounds: null,
    followingUserId: null,
    cursor: null,
    chatMessage: '',
    meta: {},
    ...extra,
  }
}

async function expectClosed(r: RawClient, code: number, reason: RegExp): Promise<void> {
  const closed = await r.closed
  expect(closed.code).toBe(code)
  expect(closed.reason).toMatch(reason)
}

describe('malformed frames', () => {
  const cases: Array<[string, string, Uint8Array | string]> = [
    ['A01', '[S15] a truncated varint', frame(0x80)],
    ['A02', '[S15] a payload length longer than the frame', frame(0, 2, 100, 1, 2, 3)],
    ['A03', '[S15] trailing bytes after a message', frame(0, 0, 1, 0, 9, 9)],
    ['A04', '[S15] a garbage update', frame(0, 2, 6, 200, 1, 7, 7, 7, 7)],
    ['A05', '[S15] an unknown sync subtype', frame(0, 7, 0)],
    ['A06', '[S15] a text frame', 'hello'],
    ['A07', '[S15] an empty frame', frame()],
  ]
  test.each(cases)('[%s] %s: closed with 4400 and a reason, nothing else affected', async (_id, _what, payload) => {
    const sc = await scene()
    const bad = sc.raw()
    await bad.opened
    bad.send(payload)
    await expectClosed(bad, 4400, /malformed message/)
    await afterCase(sc)
  })

  test('[S45] [A41] an update in Yjs format v2: closed with 4400, nothing applied', async () => {
    const sc = await scene()
    const r = sc.raw()
    await r.opened
    const doc = new Y.Doc()
    records(doc).set('shape:v2', geoShape('shape:v2'))
    r.send(encodeUpdate(Y.encodeStateAsUpdateV2(doc)))
    await expectClosed(r, 4400, /malformed message/)
    expect(records(sc.honest.doc).has('shape:v2')).toBe(false)
    await afterCase(sc)
  })

  test('[S6] [A08] an unknown top-level message type: ignored, connection stays open', async () => {
    const sc = await scene()
    const r = sc.raw()
    await r.opened
    r.send(frame(77, 1, 2, 3))
    await sleep(100)
    expect(r.ws.readyState).toBe(WebSocket.OPEN)
    await afterCase(sc)
  })

  test('[S14] [A09] a frame over MAX_MESSAGE_BYTES: closed with 1009', async () => {
    const sc = await scene({ MAX_MESSAGE_BYTES: '65536' })
    const r = sc.raw()
    await r.opened
    r.send(new Uint8Array(70_000))
    expect((await r.closed).code).toBe(1009)
    await afterCase(sc)
  })
})

describe('invalid records: reverted for everyone, never shown to others', () => {
  const cases: Array<[string, string, string, (prev: unknown) => unknown]> = [
    ['A10', '[S40] a geo shape whose x is a string', 'shape:geo1', () => ({ ...geoShape(), x: '10' })],
    ['A11', '[S40] a geo shape at NaN', 'shape:geo1', () => ({ ...geoShape(), x: Number.NaN })],
    ['A12', '[S40] a shape of an unknown type', 'shape:rocket', () => ({ ...geoShape('shape:rocket'), type: 'rocket' })],
    ['A13', '[S40] a record whose key is not its id', 'shape:alias', () => geoShape('shape:geo1')],
    [
      'A14',
      '[S40] a shape with oversize props',
      'shape:huge',
      () => geoShape('shape:huge', { url: `https://x.test/${'a'.repeat(300_000)}` }),
    ],
    ['A15', '[S40] a text shape with bad rich text', 'shape:text1', () => textShape('shape:text1', { richText: 'not rich text' })],
    ['A16', '[S40] an arrow shape without its props', 'shape:arrow', () => ({ ...geoShape('shape:arrow'), type: 'arrow', props: {} })],
    [
      'A17',
      '[S40] a draw shape with garbage segments',
      'shape:draw',
      () => ({ ...geoShape('shape:draw'), type: 'draw', props: { segments: 'zzz' } }),
    ],
    ['A18', '[S40] a note in a colour tldraw does not have', 'shape:note1', () => noteShape('shape:note1', { color: 'chartreuse' })],
    [
      'A19',
      '[S40] a session-only record (camera) in the document',
      'camera:page:page',
      () => ({ id: 'camera:page:page', typeName: 'camera', x: 0, y: 0, z: 1, meta: {} }),
    ],
    [
      'A20',
      '[S40] a valid shape changed to an invalid one (previous value comes back)',
      'shape:geo1',
      (prev) => ({ ...(prev as object), rotation: 'wobbly' }),
    ],
    ['A25', '[S40] a record that is not an object', 'shape:number', () => 42],
  ]
  test.each(cases)('[%s] %s', async (_id, _what, key, make) => {
    const sc = await scene()
    const hostile = sc.client()
    await synced(hostile)
    const kv = records(hostile.doc)
    const previous = kv.get(key)
    const bad = make(previous)
    kv.set(key, bad)
    // The sender is corrected too: its own document goes back to the valid state.
    await waitFor(() => JSON.stringify(kv.get(key)) === JSON.stringify(previous), 'the correction at the sender')
    await sleep(50)
    expect(JSON.stringify(records(sc.honest.doc).get(key))).toBe(JSON.stringify(previous))
    for (const value of sc.seen.get(key) ?? []) expect(JSON.stringify(value)).not.toBe(JSON.stringify(bad))
    expect(hostile.provider.wsconnected).toBe(true) // one mistake is not yet an offence worth a close
    await afterCase(sc)
  })

  test('[S41] [A21] deleting the document record: it comes back', async () => {
    const sc = await scene()
    const hostile = sc.client()
    await synced(hostile)
    records(hostile.doc).delete('document:document')
    await waitFor(() => records(hostile.doc).has('document:document'), 'the document record back at the sender')
    expect(records(sc.honest.doc).has('document:document')).toBe(true)
    await afterCase(sc)
  })

  test('[S41] [A22] deleting the last page: it comes back', async () => {
    const sc = await scene()
    const hostile = sc.client()
    await synced(hostile)
    records(hostile.doc).delete('page:page')
    await waitFor(() => records(hostile.doc).has('page:page'), 'the page back at the sender')
    expect(records(sc.honest.doc).has('page:page')).toBe(true)
    await afterCase(sc)
  })

  test('[S42] [A23] [A24] overwriting meta.schema with garbage or an unknown future schema: restored', async () => {
    const sc = await scene()
    const hostile = sc.client()
    await synced(hostile)
    const meta = hostile.doc.getMap(META_KEY)
    const good = JSON.stringify(schema.serialize())
    meta.set(SCHEMA_KEY, 'garbage')
    await waitFor(() => JSON.stringify(meta.get(SCHEMA_KEY)) === good, 'the schema restored after garbage')
    const future = schema.serialize()
    meta.set(SCHEMA_KEY, { ...future, sequences: { ...future.sequences, 'com.tldraw.shape': 999 } })
    await waitFor(() => JSON.stringify(meta.get(SCHEMA_KEY)) === good, 'the schema restored after a future schema')
    expect(JSON.stringify(sc.honest.doc.getMap(META_KEY).get(SCHEMA_KEY))).toBe(good)
    await afterCase(sc)
  })

  test('[S44] [A40] a client that keeps writing invalid records is closed with 4400', async () => {
    const sc = await scene({ MAX_OFFENCES: '3' })
    const hostile = sc.client()
    await synced(hostile)
    let closedWith = 0
    hostile.provider.on('connection-close', (event: { code: number } | null) => {
      if (event) closedWith = event.code
    })
    const kv = records(hostile.doc)
    for (let i = 0; i < 6; i++) kv.set(`shape:bad${i}`, { ...geoShape(`shape:bad${i}`), x: 'nope' })
    await waitFor(() => closedWith === 4400, 'the hostile client to be closed')
    hostile.destroy()
    await afterCase(sc)
  })
})

describe('awareness', () => {
  async function watchAwareness(sc: Scene, clientId: number) {
    return () => sc.honest.provider.awareness.getStates().get(clientId)
  }

  test('[S43] [A26] a state over MAX_AWARENESS_BYTES is dropped', async () => {
    const sc = await scene({ MAX_AWARENESS_BYTES: '1024' })
    const r = sc.raw()
    await r.opened
    const state = await watchAwareness(sc, 4242)
    r.send(awarenessFrame(4242, 1, { user: { name: 'x'.repeat(2000) } }))
    r.send(awarenessFrame(4243, 1, { user: { name: 'small' } }))
    await waitFor(() => sc.honest.provider.awareness.getStates().has(4243), 'the small state')
    expect(state()).toBeUndefined()
    await afterCase(sc)
  })

  test('[S43] [A27] a presence that is not a valid instance_presence record is dropped', async () => {
    const sc = await scene()
    const r = sc.raw()
    await r.opened
    r.send(awarenessFrame(5001, 1, { presence: presence(5001, { cursor: { x: 'left', y: 0 } }) }))
    r.send(awarenessFrame(5002, 1, { presence: presence(5002, { cursor: { x: 1, y: 2, type: 'default', rotation: 0 } }) }))
    await waitFor(() => sc.honest.provider.awareness.getStates().has(5002), 'the valid presence')
    expect(sc.honest.provider.awareness.getStates().has(5001)).toBe(false)
    await afterCase(sc)
  })

  test('[S43] [A28] a presence bound to another client id is dropped', async () => {
    const sc = await scene()
    const r = sc.raw()
    await r.opened
    r.send(awarenessFrame(6001, 1, { presence: presence(9999) }))
    r.send(awarenessFrame(6002, 1, { presence: presence(6002) }))
    await waitFor(() => sc.honest.provider.awareness.getStates().has(6002), 'the bound presence')
    expect(sc.honest.provider.awareness.getStates().has(6001)).toBe(false)
    await afterCase(sc)
  })

  test("[S43] [A29] spoofing another connection's client id (update or removal) is dropped", async () => {
    const sc = await scene()
    const victim = sc.client()
    victim.provider.awareness.setLocalStateField('user', { name: 'Victim' })
    const victimId = victim.doc.clientID
    await waitFor(() => sc.honest.provider.awareness.getStates().get(victimId)?.user?.name === 'Victim', 'the victim at the watcher')
    const r = sc.raw()
    await r.opened
    r.send(awarenessFrame(victimId, 1000, { user: { name: 'Mallory' } }))
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, victimId)
    encoding.writeVarUint(e, 1001)
    encoding.writeVarString(e, 'null')
    r.send(encodeAwareness([encoding.toUint8Array(e)]))
    await sleep(150)
    expect(sc.honest.provider.awareness.getStates().get(victimId)?.user?.name).toBe('Victim')
    await afterCase(sc)
  })

  test('[S44] [A30] an awareness flood of invalid states closes the connection with 4400', async () => {
    const sc = await scene({ MAX_OFFENCES: '5' })
    const r = sc.raw()
    await r.opened
    for (let i = 0; i < 10; i++) r.send(awarenessFrame(7000 + i, 1, { presence: { typeName: 'instance_presence', id: 'nope' } }))
    await expectClosed(r, 4400, /too many invalid awareness/)
    await afterCase(sc)
  })
})

describe('floods and limits', () => {
  test('[S48] [A31] a message flood over MAX_MESSAGES_PER_SECOND: closed with 4429', async () => {
    const sc = await scene({ MAX_MESSAGES_PER_SECOND: '20', MAX_MESSAGE_BURST: '40' })
    const r = sc.raw()
    await r.opened
    for (let i = 0; i < 200; i++) r.send(frame(3))
    await expectClosed(r, 4429, /rate limited/)
    await afterCase(sc)
  })

  test('[S7] [A32] room ids with path tricks are refused with 400 before a room exists', async () => {
    const sc = await scene()
    for (const path of [
      '/sync/..',
      '/sync/../board',
      '/sync/%2E%2E%2Fboard',
      '/sync/board%2F..',
      '/sync/b\u00f6rd',
      '/sync/board/../other',
      '/sync/',
    ]) {
      expect((await upgradeRefusal(sc.s.port, path)).status, path).toBe(400)
    }
    expect(sc.s.sync.health().rooms).toBe(1)
    await afterCase(sc)
  })

  test('[S49] [A33] a connection flood from one address: 429 at the upgrade once over MAX_CONNECTIONS_PER_MINUTE', async () => {
    const sc = await scene({ MAX_CONNECTIONS_PER_MINUTE: '8' })
    // The honest client used one; afterCase needs two more.
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      const r = rawClient(`${sc.s.wsUrl}/flood-${i}`)
      defer(() => r.ws.terminate())
      statuses.push(
        await r.opened.then(
          () => 101,
          (err: Error) => Number(/HTTP (\d+)/.exec(err.message)?.[1] ?? 0),
        ),
      )
    }
    expect(statuses.filter((s) => s === 101)).toHaveLength(7)
    expect(statuses.filter((s) => s === 429)).toHaveLength(3)
  })

  test('[S47] [A34] a room over MAX_ROOM_CONNECTIONS: the next joiner is closed with 4413', async () => {
    const sc = await scene({ MAX_ROOM_CONNECTIONS: '3' })
    const a = sc.raw()
    const b = sc.raw()
    await Promise.all([a.opened, b.opened])
    const c = sc.raw()
    await expectClosed(c, 4413, /full/)
    expect(a.ws.readyState).toBe(WebSocket.OPEN)
    a.ws.close()
    await a.closed
    await sleep(50)
    await afterCase(sc)
  })

  test('[S16] [A35] a slow consumer is cut off while the room carries on', async () => {
    const sc = await scene({
      MAX_BUFFERED_BYTES: String(128 * 1024),
      MAX_DOC_BYTES: String(100 * 1024),
      MAX_MESSAGES_PER_SECOND: '10000',
      MAX_MESSAGE_BURST: '10000',
    })
    const slow = sc.raw()
    await slow.opened
    ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    const kv = records(sc.honest.doc)
    for (let i = 0; i < 300; i++) kv.set('shape:geo1', geoShape('shape:geo1', { url: `https://x.test/${i}/${'p'.repeat(20_000)}` }))
    await waitFor(() => sc.s.sync.connectionCount === 1, 'the slow consumer to be cut off')
    await afterCase(sc)
  })

  test('[S50] [A36] a WebSocket that never sends sync step 1 is closed after HANDSHAKE_TIMEOUT_MS', async () => {
    const sc = await scene({ HANDSHAKE_TIMEOUT_MS: '300' })
    const r = sc.raw()
    await r.opened
    await expectClosed(r, 4400, /handshake not completed/)
    await afterCase(sc)
  })

  test('[S50] [A37] a TCP connection that never finishes its HTTP request is dropped', async () => {
    const sc = await scene({ HANDSHAKE_TIMEOUT_MS: '500' })
    const socket = net.connect(sc.s.port, '127.0.0.1')
    defer(() => socket.destroy())
    await new Promise((resolve) => socket.once('connect', resolve))
    let answer = ''
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
    socket.write('GET /sync/board HTTP/1.1\r\nHost: x\r\n') // and never the blank line
    const ended = await Promise.race([
      new Promise((resolve) => socket.once('close', () => resolve('closed'))),
      sleep(5000).then(() => 'open'),
    ])
    expect(ended).toBe('closed')
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    await afterCase(sc)
  })

  test('[S45] [A38] an update gap that never fills: held back, then its sender is closed; others unaffected', async () => {
    const sc = await scene({ MAX_PENDING_MS: '300' })
    const r = sc.raw()
    await r.opened
    // Two updates from one client; send only the second, which depends on the first.
    const doc = new Y.Doc()
    const kv = records(doc)
    kv.set('shape:gap', geoShape('shape:gap'))
    const sv = Y.encodeStateVector(doc)
    kv.set('shape:gap2', geoShape('shape:gap2'))
    r.send(encodeUpdate(Y.encodeStateAsUpdate(doc, sv)))
    r.send(encodeSyncStep1(Uint8Array.of(0)))
    await expectClosed(r, 4400, /never sent/)
    expect(records(sc.honest.doc).has('shape:gap2')).toBe(false)
    await afterCase(sc)
  })

  test('[S46] [A39] an update that would pass MAX_DOC_BYTES: closed with 4413, board unchanged', async () => {
    const sc = await scene({ MAX_DOC_BYTES: String(64 * 1024), MAX_BUFFERED_BYTES: String(1024 * 1024) })
    const hostile = sc.client()
    await synced(hostile)
    let closedWith = 0
    hostile.provider.on('connection-close', (event: { code: number } | null) => {
      if (event) closedWith = event.code
    })
    hostile.doc.getText('notes').insert(0, 'z'.repeat(100 * 1024))
    await waitFor(() => closedWith === 4413, 'the writer to be told the board is full')
    hostile.destroy()
    expect(sc.honest.doc.getText('notes').length).toBe(0)
    await afterCase(sc)
  })
})
