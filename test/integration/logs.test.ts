/**
 * Room ids and link tokens are capabilities: whoever reads the logs, scrapes the metrics or
 * gets an error back must not learn one. A real server logging at `trace` into a buffer,
 * exercised the way people and attackers use it, and a real PostgreSQL whose error
 * details quote the room they failed on.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { ASSET_BOARD_HEADER } from '../../lib/assets'
import { encodeSyncStep1, encodeUpdate } from '../../server/protocol/messages'
import { TokenSigner } from '../../server/http/tokens'
import { PostgresStore } from '../../server/storage/PostgresStore'
import { geoShape, records, seedBoard } from '../abuse/board'
import { connectClient, sleep, synced, testScope, type TestServer, waitFor } from '../helpers'

const scope = testScope()
const SECRET = 'a-test-secret-for-the-log-battery'
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A logger at trace level that keeps every line. */
function bufferLogger() {
  const lines: string[] = []
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString())
        done()
      },
    }),
  )
  return { logger, text: () => lines.join('') }
}

/** Every error the server answered with (bodies of 4xx/5xx, close reasons), to check alongside the logs. */
const errors: string[] = []

async function request(s: TestServer, path: string, init: { method?: string; body?: Uint8Array; headers?: Record<string, string> } = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 400) errors.push(body)
        resolve(res.statusCode ?? 0)
      })
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

/** What must never show: the ids and every token, whole or as their parts. */
function expectNoCapability(text: string, secrets: string[]) {
  for (const secret of secrets) {
    expect(text, `leaked ${secret.slice(0, 12)}…`).not.toContain(secret)
    for (const part of secret.split('.')) if (part.length >= 16) expect(text, `leaked part of ${secret.slice(0, 12)}…`).not.toContain(part)
  }
}

describe('capabilities stay out of logs, metrics and error messages', () => {
  test('[S76] edit links, view links, forged and expired tokens, uploads, oEmbed and bad frames: the trace log never holds a room id or a token', async () => {
    const { logger, text } = bufferLogger()
    const s = await scope.server({ AUTH_SECRET: SECRET, LOG_LEVEL: 'trace' }, { logger, assets: true })
    const room = `Cap${randomBytes(12).toString('base64url')}`
    const signer = new TokenSigner(SECRET)
    const view = signer.sign({ roomId: room, mode: 'view', expiresAt: null })
    const edit = signer.sign({ roomId: room, mode: 'edit', expiresAt: Date.now() + 3_600_000 })
    const expired = signer.sign({ roomId: room, mode: 'view', expiresAt: Date.now() - 1 })
    const forged = new TokenSigner('not-the-server-secret!!').sign({ roomId: room, mode: 'edit', expiresAt: null })
    const origin = `http://127.0.0.1:${s.port}`

    // Editors by room id and by edit token; a viewer that tries to write anyway.
    const editor = scope.client(s, room)
    await synced(editor)
    seedBoard(editor.doc)
    const guest = scope.client(s, edit)
    await synced(guest)
    const viewer = scope.raw(s, view)
    await viewer.opened
    viewer.send(encodeSyncStep1(Uint8Array.of(0)))
    const rogue = new Y.Doc()
    records(rogue).set('shape:vandal', geoShape('shape:vandal'))
    viewer.send(encodeUpdate(Y.encodeStateAsUpdate(rogue)))
    // Forged and expired tokens, and an editor that sends garbage.
    for (const token of [forged, expired]) errors.push((await scope.raw(s, token).closed).reason)
    const vandal = scope.raw(s, room)
    await vandal.opened
    vandal.send(Uint8Array.of(0, 2, 200))
    errors.push((await vandal.closed).reason)

    // The HTTP side: links, token checks, oEmbed, uploads good and bad, metrics, odd paths.
    await request(s, '/api/links', { method: 'POST', body: Buffer.from(JSON.stringify({ roomId: room })) })
    for (const token of [view, edit, expired, forged]) await request(s, `/api/tokens/${token}`)
    for (const page of [`/b/${room}`, `/v/${view}`, `/v/${forged}`, `/e/${edit}`]) {
      await request(s, `/api/oembed?url=${encodeURIComponent(origin + page)}`)
      await request(s, `/api/oembed?url=${encodeURIComponent(`http://evil.example${page}`)}`, { headers: { host: 'evil.example' } })
      await request(s, page)
      await request(s, `/embed/%2e%2e${page}`)
    }
    const upload = (board: string, body: Uint8Array) =>
      request(s, '/api/assets', { method: 'POST', body, headers: { [ASSET_BOARD_HEADER]: board } })
    expect(await upload(room, PNG)).toBe(201)
    expect(await upload(edit, Buffer.concat([PNG, Buffer.from('x')]))).toBe(201)
    expect(await upload(view, PNG)).toBe(403)
    expect(await upload(forged, PNG)).toBe(401)
    expect(await upload(expired, PNG)).toBe(401)
    expect(await upload(room, Buffer.from('<svg onload="alert(1)"/>'))).toBe(415)
    expect(await upload(room, Buffer.concat([PNG, Buffer.alloc(11 * 1024 * 1024)]))).toBe(413)
    await request(s, `/sync/${room}`)
    const metrics = await (await fetch(`${origin}/metrics`)).text()
    expect(metrics).toContain('sketchroom_connections')
    expectNoCapability(metrics, [room, view, edit, expired, forged])

    await waitFor(() => /refused a write from a view-only connection/.test(text()), 'the refused write to be logged')
    await sleep(100)
    editor.destroy()
    guest.destroy()
    viewer.ws.terminate()
    await s.close()

    const log = text()
    // The checks see the lines they are meant to judge.
    for (const line of ['connection open', 'connection closed', 'refused a write from a view-only connection', 'listening']) {
      expect(log).toContain(line)
    }
    expect(log).toMatch(/"readOnly":true/)
    expectNoCapability(log, [room, view, edit, expired, forged])
    expect(errors.length).toBeGreaterThan(20)
    expectNoCapability(errors.join('\n'), [room, view, edit, expired, forged])
  })

  test('[S76] a PostgreSQL error whose detail quotes the room is logged without it', async () => {
    const schema = `sketchroom_logs_${randomBytes(6).toString('hex')}`
    // Dropped after this test, once the server (closed by the scope) has let go of it.
    scope.defer(async () => {
      const cleanup = new PostgresStore({ url: DATABASE_URL, schema })
      await cleanup.dropSchema()
      await cleanup.close()
    })
    const room = `Pg${randomBytes(12).toString('base64url')}`
    // A log entry the room row does not know of: the server's first append collides with it,
    // and PostgreSQL says "Key (room, seq)=(<room>, 1) already exists."
    const store = new PostgresStore({ url: DATABASE_URL, schema })
    await store.migrate()
    const pool = (store as unknown as { pool: { query(sql: string, values: unknown[]): Promise<unknown> } }).pool
    await pool.query(`INSERT INTO "${schema}".sketchroom_updates (room, seq, origin, data) VALUES ($1, 1, NULL, $2)`, [
      room,
      Buffer.from(Y.encodeStateAsUpdate(new Y.Doc())),
    ])
    await store.close()

    const { logger, text } = bufferLogger()
    const s = await scope.server({ DATABASE_URL, DATABASE_SCHEMA: schema, LOG_LEVEL: 'trace' }, { logger })
    const client = connectClient(s.wsUrl, room)
    scope.defer(() => client.destroy())
    await synced(client)
    records(client.doc).set('shape:one', geoShape('shape:one'))
    await waitFor(() => /sketchroom_updates_pkey/.test(text()), 'the failed append to be logged')
    client.destroy()
    await s.close()
    const log = text()
    expect(log).toMatch(/"code":"23505"/)
    expectNoCapability(log, [room])
  })
})
