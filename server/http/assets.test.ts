import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ASSET_BOARD_HEADER } from '../../lib/assets'
import { createAssetHandler, sniffImageType } from './assets'
import { TokenSigner } from './tokens'

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')

describe('asset endpoint', () => {
  let dir: string
  let server: http.Server
  let origin: string
  const MAX = 4096

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-assets-'))
    const unlimited = Number.MAX_SAFE_INTEGER
    const signer = new TokenSigner('a-test-secret-that-is-long-enough')
    const handle = createAssetHandler({
      dir,
      limits: {
        maxBytes: MAX,
        perAddressBytes: unlimited,
        perBoardBytes: unlimited,
        totalBytes: unlimited,
        minFreeDiskBytes: 0,
        concurrentPerAddress: 100,
        concurrentTotal: 100,
        minBytesPerSecond: 0,
      },
      verify: async (token) => signer.verify(token),
      address: (req) => req.socket.remoteAddress ?? 'unknown',
    })
    server = http.createServer((req, res) => {
      if (!handle(req, res)) res.writeHead(418).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address() as { port: number }
    origin = `http://127.0.0.1:${address.port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const board = { [ASSET_BOARD_HEADER]: 'asset-test-board' }
  const stored = () => fs.readdirSync(dir).filter((f) => f !== 'tmp')
  const leftovers = () => fs.readdirSync(path.join(dir, 'tmp'))

  test('stores a PNG under its SHA-256 and serves it with safe, long-lived headers', async () => {
    const res = await fetch(`${origin}/api/assets`, { method: 'POST', body: PNG, headers: { 'content-type': 'image/png', ...board } })
    expect(res.status).toBe(201)
    const hash = createHash('sha256').update(PNG).digest('hex')
    expect(await res.json()).toEqual({ url: `/api/assets/${hash}`, type: 'image/png', bytes: PNG.length })
    const got = await fetch(`${origin}/api/assets/${hash}`)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(got.headers.get('x-content-type-options')).toBe('nosniff')
    expect(got.headers.get('cache-control')).toContain('immutable')
    expect(Buffer.from(await got.arrayBuffer()).equals(PNG)).toBe(true)
  })

  test('judges the type by the bytes: a script named .png is refused and not kept', async () => {
    const before = stored()
    const res = await fetch(`${origin}/api/assets`, {
      method: 'POST',
      body: '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
      headers: { 'content-type': 'image/png', ...board },
    })
    expect(res.status).toBe(415)
    expect((await res.json()).error).toMatch(/PNG, JPEG, GIF and WebP/)
    expect(stored()).toEqual(before)
    expect(leftovers()).toEqual([])
  })

  test('refuses uploads over the limit, declared or streamed, leaving nothing behind', async () => {
    const before = stored()
    const big = Buffer.concat([PNG, Buffer.alloc(MAX)])
    const declared = await fetch(`${origin}/api/assets`, { method: 'POST', body: big, headers: board })
    expect(declared.status).toBe(413)
    // Chunked: no Content-Length, so the limit must be enforced while streaming.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${origin}/api/assets`, { method: 'POST', headers: board }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.write(big.subarray(0, 2048))
      req.end(big.subarray(2048))
    })
    expect(streamed).toBe(413)
    expect(stored()).toEqual(before)
    expect(leftovers()).toEqual([])
  })

  test('unknown hashes are 404; other paths fall through', async () => {
    expect((await fetch(`${origin}/api/assets/${'0'.repeat(64)}`)).status).toBe(404)
    expect((await fetch(`${origin}/api/assetsx`)).status).toBe(418)
    expect((await fetch(`${origin}/api/assets/../etc/passwd`)).status).not.toBe(200)
  })

  test('sniffs the four accepted types', () => {
    expect(sniffImageType(PNG)).toBe('image/png')
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg')
    expect(sniffImageType(Buffer.from('GIF89a'))).toBe('image/gif')
    expect(sniffImageType(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp')
    expect(sniffImageType(Buffer.from('<svg'))).toBeNull()
  })
})
