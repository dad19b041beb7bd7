/**
 * The abuse battery of `/api/assets`: strangers, viewers and greedy editors trying to
 * fill the disk or hold every upload slot. A real server on port 0 with its own DATA_DIR,
 * real HTTP. Addresses are told apart the way a deployment behind one proxy does
 * (`TRUST_PROXY=1`, the test playing the proxy that appends `X-Forwarded-For`).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { ASSET_BOARD_HEADER } from '../../lib/assets'
import { TokenSigner } from '../../server/http/tokens'
import { testScope, type TestServer, waitFor } from '../helpers'

const scope = testScope()
const SECRET = 'a-test-secret-for-the-upload-battery'
const signer = new TokenSigner(SECRET)
const ROOM = 'UploadBoardRoom1234567'
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')

/** A PNG of `bytes` bytes that no other call returns (different bytes, different asset). */
const image = (bytes = 1024): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.concat([PNG, randomBytes(bytes - PNG.length)]))

const server = (env: Record<string, string> = {}) => scope.server({ AUTH_SECRET: SECRET, TRUST_PROXY: '1', ...env }, { assets: true })

interface Answer {
  status: number
  body: { error?: string; url?: string }
  retryAfter: string | null
}

async function upload(s: TestServer, body: Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${s.port}/api/assets`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'image/png', [ASSET_BOARD_HEADER]: ROOM, ...headers },
  })
  return { status: res.status, body: (await res.json()) as Answer['body'], retryAfter: res.headers.get('retry-after') }
}

/** An upload sent without Content-Length, so every limit has to hold while the body streams. */
function chunkedUpload(s: TestServer, body: Uint8Array, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: s.port, path: '/api/assets', method: 'POST', headers: { [ASSET_BOARD_HEADER]: ROOM, ...headers } },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(0) : reject(err)))
    for (let at = 0; at < body.length; at += 512) req.write(body.subarray(at, at + 512))
    req.end()
  })
}

/** An upload that sends a byte every 200 ms, as a slowloris would. */
function trickle(s: TestServer, from: string) {
  let status: number | null = null
  const req = http.request({
    host: '127.0.0.1',
    port: s.port,
    path: '/api/assets',
    method: 'POST',
    headers: { [ASSET_BOARD_HEADER]: ROOM, 'x-forwarded-for': from, 'content-length': '100000' },
  })
  req.on('response', (res) => {
    status = res.statusCode ?? null
    res.resume()
  })
  req.on('error', () => undefined)
  req.write(PNG)
  const drip = setInterval(() => req.write('x'), 200)
  const closed = new Promise<void>((resolve) => req.on('close', () => resolve()))
  void closed.then(() => clearInterval(drip))
  scope.defer(() => {
    clearInterval(drip)
    req.destroy()
  })
  return { closed, status: () => status }
}

const files = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
const storedAssets = (s: TestServer) => files(path.join(s.dataDir, 'assets')).filter((f) => f !== 'tmp')
const leftovers = (s: TestServer) => files(path.join(s.dataDir, 'assets', 'tmp'))

describe('uploads', () => {
  test('[S70] [A70] an upload needs an edit capability in x-sketchroom-board: none or a bad link 401, a view link 403', async () => {
    const s = await server()
    const view = signer.sign({ roomId: ROOM, mode: 'view', expiresAt: null })
    const edit = signer.sign({ roomId: ROOM, mode: 'edit', expiresAt: Date.now() + 60_000 })
    const expired = signer.sign({ roomId: ROOM, mode: 'edit', expiresAt: Date.now() - 1 })
    const forged = new TokenSigner('not-the-server-secret!!').sign({ roomId: ROOM, mode: 'edit', expiresAt: null })
    const noHeader = await fetch(`http://127.0.0.1:${s.port}/api/assets`, { method: 'POST', body: image() })
    expect(noHeader.status).toBe(401)
    expect(((await noHeader.json()) as { error: string }).error).toMatch(/x-sketchroom-board/)
    for (const [board, status] of [
      [view, 403],
      [forged, 401],
      [expired, 401],
      ['../etc', 401],
      ['', 401],
    ] as const) {
      const answer = await upload(s, image(), { [ASSET_BOARD_HEADER]: board })
      expect(answer.status, board).toBe(status)
      expect(answer.body.error, board).toBeTruthy()
    }
    expect(storedAssets(s)).toEqual([])
    expect((await upload(s, image())).status).toBe(201)
    expect((await upload(s, image(), { [ASSET_BOARD_HEADER]: edit })).status).toBe(201)
    expect(storedAssets(s)).toHaveLength(2)
    // A page on another site cannot send the header: the browser's preflight gets no CORS answer.
    const preflight = await fetch(`http://127.0.0.1:${s.port}/api/assets`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull()
  })

  test('[S71] [A71] bytes per address and per board are budgeted over a rolling hour: 429 past either, declared or streamed', async () => {
    const s = await server({ MAX_UPLOAD_BYTES_PER_ADDRESS: '3000', MAX_UPLOAD_BYTES_PER_BOARD: '5000' })
    const from = (address: string, board = ROOM) => ({ 'x-forwarded-for': address, [ASSET_BOARD_HEADER]: board })
    expect((await upload(s, image(), from('203.0.113.1'))).status).toBe(201)
    expect((await upload(s, image(), from('203.0.113.1'))).status).toBe(201)
    const over = await upload(s, image(), from('203.0.113.1'))
    expect(over.status).toBe(429)
    expect(over.body.error).toMatch(/your address/)
    expect(Number(over.retryAfter)).toBeGreaterThan(0)
    // Streamed without a length: refused once the budget runs out mid-body.
    expect(await chunkedUpload(s, image(), from('203.0.113.1'))).not.toBe(201)
    // Another address still may, until the board's own budget is spent.
    expect((await upload(s, image(), from('203.0.113.2'))).status).toBe(201)
    expect((await upload(s, image(), from('203.0.113.3'))).status).toBe(201)
    const boardFull = await upload(s, image(), from('203.0.113.4'))
    expect(boardFull.status).toBe(429)
    expect(boardFull.body.error).toMatch(/this board/)
    expect((await upload(s, image(), from('203.0.113.4', 'AnotherBoard1234567890'))).status).toBe(201)
    expect(storedAssets(s)).toHaveLength(5)
    expect(leftovers(s)).toEqual([])
  })

  test('[S72] [A72] the asset store has a size limit, counted from what is on disk, and a free-disk margin: 507, nothing kept', async () => {
    const s = await server({ MAX_ASSETS_BYTES: '2500' })
    const kept = image()
    expect((await upload(s, kept)).status).toBe(201)
    expect((await upload(s, kept)).status).toBe(201) // the same bytes again take no room
    expect((await upload(s, image())).status).toBe(201)
    const full = await upload(s, image())
    expect(full.status).toBe(507)
    expect(full.body.error).toMatch(/no room/)
    expect(await chunkedUpload(s, image(600), {})).toBe(507)
    expect(storedAssets(s)).toHaveLength(2)
    await s.close()
    // A restarted server counts the files already there.
    const again = await server({ DATA_DIR: s.dataDir, MAX_ASSETS_BYTES: '2500' })
    expect((await upload(again, image(600))).status).toBe(507)
    expect((await upload(again, image(400))).status).toBe(201)

    // The real free space of this disk, with a margin larger than any disk.
    const margin = await server({ MIN_FREE_DISK_BYTES: String(2 ** 50) })
    const refused = await upload(margin, image())
    expect(refused.status).toBe(507)
    expect(storedAssets(margin)).toEqual([])
    expect(leftovers(margin)).toEqual([])
  })

  test('[S73] [A73] uploads at once are capped per address (429) and in all (503); a trickling body is dropped and frees its slot', async () => {
    const s = await server({
      MAX_CONCURRENT_UPLOADS_PER_ADDRESS: '2',
      MAX_CONCURRENT_UPLOADS: '3',
      MIN_UPLOAD_BYTES_PER_SECOND: '1000',
    })
    const a = [trickle(s, '203.0.113.10'), trickle(s, '203.0.113.10')]
    const b = trickle(s, '203.0.113.11')
    await waitFor(async () => (await upload(s, image(), { 'x-forwarded-for': '203.0.113.10' })).status === 429, 'the per-address cap')
    const busy = await upload(s, image(), { 'x-forwarded-for': '203.0.113.12' })
    expect(busy.status).toBe(503)
    expect(Number(busy.retryAfter)).toBeGreaterThan(0)
    // Node's request timeout is 30 s; the rate check drops them long before.
    await Promise.race([
      Promise.all([...a, b].map((t) => t.closed)),
      new Promise((_, reject) => setTimeout(() => reject(new Error('trickling uploads still open after 15 s')), 15_000)),
    ])
    expect((await upload(s, image(), { 'x-forwarded-for': '203.0.113.10' })).status).toBe(201)
    expect(storedAssets(s)).toHaveLength(1)
    await waitFor(() => leftovers(s).length === 0, 'temp files of dropped uploads to go')
  })

  test('[S74] [A74] a failing asset store answers 500 with a sentence that names no file of the server', async () => {
    const s = await server()
    // The temp directory's place is taken by a file: the server cannot write an upload.
    fs.mkdirSync(path.join(s.dataDir, 'assets'), { recursive: true })
    fs.writeFileSync(path.join(s.dataDir, 'assets', 'tmp'), 'not a directory')
    const failed = await upload(s, image())
    expect(failed.status).toBe(500)
    const text = JSON.stringify(failed.body)
    expect(text).not.toContain(s.dataDir)
    expect(text).not.toMatch(/assets|tmp|EEXIST|ENOTDIR|\//)
    // Once the operator fixes the disk, uploads work again without a restart.
    fs.rmSync(path.join(s.dataDir, 'assets', 'tmp'))
    expect((await upload(s, image())).status).toBe(201)
  })
})
