/**
 * No input from outside takes a process down ([S36], [S37]), and expiring links expire on
 * open sockets too ([S38]).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { Redis } from 'ioredis'
import * as encoding from 'lib0/encoding'
import { afterAll, describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { loadConfig } from '../../server/config'
import { startServer } from '../../server/app'
import { TokenSigner } from '../../server/http/tokens'
import { encodeSyncStep1, encodeUpdate } from '../../server/protocol/messages'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { connectClient, rawClient, sleep, startTestServer, synced, tempDir, testScope, waitFor } from '../helpers'

const { defer } = testScope()
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const schemas: string[] = []
afterAll(async () => {
  for (const schema of schemas) {
    const store = new PostgresStore({ url: DATABASE_URL, schema })
    await store.dropSchema()
    await store.close()
  }
})

function message(...parts: Array<(e: encoding.Encoder) => void>): Uint8Array {
  const e = encoding.createEncoder()
  for (const part of parts) part(e)
  return encoding.toUint8Array(e)
}
const uint = (n: number) => (e: encoding.Encoder) => encoding.writeVarUint(e, n)
const raw = (b: ArrayLike<number>) => (e: encoding.Encoder) => encoding.writeUint8Array(e, Uint8Array.from(b))
const lenBytes = (b: ArrayLike<number>) => (e: encoding.Encoder) => encoding.writeVarUint8Array(e, Uint8Array.from(b))

describe('[S36] garbage on the bus', () => {
  test('garbage and truncated messages of every type on a room’s Redis channel: instances stay up and keep converging', async () => {
    const schema = `sketchroom_test_${randomBytes(6).toString('hex')}`
    schemas.push(schema)
    const prefix = `sketchroom-test-${randomBytes(4).toString('hex')}:`
    const env = { DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL, REDIS_PREFIX: prefix, ANTI_ENTROPY_INTERVAL_MS: '300' }
    const a = await startTestServer(env)
    const b = await startTestServer(env)
    defer(() => a.close())
    defer(() => b.close())
    const ca = connectClient(a.wsUrl, 'bus-room')
    const cb = connectClient(b.wsUrl, 'bus-room')
    defer(() => ca.destroy())
    defer(() => cb.destroy())
    await synced(ca, cb)
    ca.doc.getArray('list').push(['before'])
    await waitFor(() => cb.doc.getArray('list').length === 1, 'the first edit across instances')

    const validUpdate = (() => {
      const doc = new Y.Doc()
      doc.getArray('list').push(['x'])
      return Y.encodeStateAsUpdate(doc)
    })()
    const garbage: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(0),
      message(uint(0), uint(50), raw([1, 2, 3])),
      message(uint(0), lenBytes([5, 200, 3, 99, 1, 250, 250, 250, 7])),
      message(uint(0), lenBytes(validUpdate.subarray(0, validUpdate.length - 3))),
      message(uint(0), lenBytes([...validUpdate, 9, 9])),
      Uint8Array.of(1),
      message(uint(1), uint(40), raw([1])),
      message(uint(1), lenBytes(message(uint(1), uint(7), uint(3), uint(200), raw([123])))),
      message(uint(1), lenBytes(message(uint(3), uint(1), uint(1)))),
      Uint8Array.of(2),
      // A state vector that does not decode (what once took every instance down).
      message(uint(2), lenBytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), lenBytes([1, 2]), uint(3)),
      message(uint(2), lenBytes([3, 1, 1]), lenBytes([1]), uint(3)),
      message(uint(2), lenBytes([1, 5, 9]), uint(20)),
      message(uint(3), raw([9, 9, 9])),
      Uint8Array.of(99, 1, 2, 3),
      Uint8Array.from(randomBytes(64)),
    ]
    const redis = new Redis(REDIS_URL)
    defer(() => redis.quit())
    const senderId = randomBytes(8)
    for (const payload of garbage) {
      await redis.publish(`${prefix}room:bus-room`, Buffer.concat([senderId, payload]))
      // Also without the sender id a real instance prepends.
      await redis.publish(`${prefix}room:bus-room`, Buffer.from(payload))
    }
    await sleep(500)
    for (const s of [a, b]) expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200)
    cb.doc.getArray('list').push(['after'])
    ca.doc.getArray('list').push(['also after'])
    await waitFor(
      () => ca.doc.getArray('list').length === 3 && cb.doc.getArray('list').length === 3,
      'both instances to converge after the garbage',
      20_000,
    )
    expect(ca.doc.getArray('list').toJSON().sort()).toEqual(cb.doc.getArray('list').toJSON().sort())
  })
})

describe('[S37] start and stop', () => {
  test('a start-up that fails half-way (the port is taken) closes the store it had opened', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    defer(() => new Promise((resolve) => blocker.close(resolve)))
    const port = (blocker.address() as net.AddressInfo).port
    const dataDir = tempDir()
    const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' })
    await expect(startServer(config)).rejects.toThrow(/EADDRINUSE/)
    // A closed SQLite store folds its WAL away; an open one would keep the -wal file.
    const leftovers = fs.readdirSync(dataDir).filter((f) => f.endsWith('-wal') || f.endsWith('-shm'))
    expect(leftovers).toEqual([])
    expect(fs.existsSync(path.join(dataDir, 'sketchroom.db'))).toBe(true)
  })
})

describe('[S38] expiring links on open sockets', () => {
  test('an edit link with a short TTL: the open socket is closed with 4401 when it expires and cannot write after', async () => {
    const secret = 'a-secret-for-expiry-tests-only'
    const s = await startTestServer({ AUTH_SECRET: secret })
    defer(() => s.close())
    const token = new TokenSigner(secret).sign({ roomId: 'expiring-room', mode: 'edit', expiresAt: Date.now() + 1500 })
    const editor = rawClient(`${s.wsUrl}/${token}`)
    defer(() => editor.ws.terminate())
    await editor.opened
    editor.send(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    const doc = new Y.Doc()
    doc.getArray('list').push(['while valid'])
    editor.send(encodeUpdate(Y.encodeStateAsUpdate(doc)))
    await waitFor(() => s.sync.rooms.get('expiring-room')?.doc.getArray('list').length === 1, 'the edit made while the link was valid')
    const closed = await editor.closed
    expect(closed.code).toBe(4401)
    expect(closed.reason).toMatch(/expired/)
    // The room holds only what came before expiry.
    const later = connectClient(s.wsUrl, 'expiring-room')
    defer(() => later.destroy())
    await synced(later)
    expect(later.doc.getArray('list').toJSON()).toEqual(['while valid'])
  })
})
