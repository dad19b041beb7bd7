/**
 * Board previews against a real server on port 0: who may upload one, what is taken, where
 * it is served, and that nothing about a preview ever names an edit link.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { ASSET_BOARD_HEADER } from '../../lib/assets'
import { META_KEY, TITLE_KEY } from '../../lib/board'
import { TokenSigner } from '../../server/http/tokens'
import { testScope, type TestServer, waitFor } from '../helpers'

const scope = testScope()
const SECRET = 'a-test-secret-for-board-previews'
const signer = new TokenSigner(SECRET)
const ROOM = 'PreviewBoardRoom123456'
const PUBLIC_URL = 'https://boards.example'

/** A real 2×1 PNG (IHDR says so), padded past its end to `bytes`. */
function png(bytes = 200, width = 2, height = 1): Buffer {
  const head = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
  const size = Buffer.alloc(8)
  size.writeUInt32BE(width, 0)
  size.writeUInt32BE(height, 4)
  const rest = Buffer.from('08060000001f15c489', 'hex')
  const out = Buffer.concat([head, size, rest])
  return Buffer.concat([out, Buffer.alloc(Math.max(0, bytes - out.length), 7)])
}
/** A lossless WebP header of 640×400, padded. */
function webp(bytes = 300): Buffer {
  const out = Buffer.alloc(bytes)
  out.write('RIFF', 0, 'ascii')
  out.writeUInt32LE(bytes - 8, 4)
  out.write('WEBPVP8L', 8, 'ascii')
  out.writeUInt32LE(bytes - 20, 16)
  out[20] = 0x2f
  const w = 640 - 1
  const h = 400 - 1
  const bits = w | (h << 14)
  out.writeUInt32LE(bits >>> 0, 21)
  return out
}

const server = (env: Record<string, string> = {}) => scope.server({ AUTH_SECRET: SECRET, PUBLIC_URL, ...env }, { assets: true })

async function put(s: TestServer, body: Buffer, board: string | null = ROOM, type = 'image/png') {
  const headers: Record<string, string> = { 'content-type': type }
  if (board !== null) headers[ASSET_BOARD_HEADER] = board
  const res = await fetch(`http://127.0.0.1:${s.port}/api/previews`, { method: 'PUT', body: new Uint8Array(body), headers })
  return { status: res.status, body: (await res.json()) as { url?: string; width?: number; height?: number; error?: string } }
}
const get = (s: TestServer, urlPath: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${s.port}${urlPath}`, { headers })
const previewFiles = (s: TestServer) => {
  const dir = path.join(s.dataDir, 'previews')
  return fs.existsSync(dir) ? fs.readdirSync(dir) : []
}

describe('board previews', () => {
  test('[S100] an upload needs an edit capability: none, forged or expired is 401, a view link 403, and nothing is kept', async () => {
    const s = await server()
    const view = signer.sign({ roomId: ROOM, mode: 'view', expiresAt: null })
    const expired = signer.sign({ roomId: ROOM, mode: 'edit', expiresAt: Date.now() - 1000 })
    const forged = `${view.slice(0, -3)}AAA`
    expect((await put(s, png(), null)).status).toBe(401)
    expect((await put(s, png(), 'not a room!')).status).toBe(401)
    expect((await put(s, png(), forged)).status).toBe(401)
    expect((await put(s, png(), expired)).status).toBe(401)
    const viewer = await put(s, png(), view)
    expect(viewer.status).toBe(403)
    expect(viewer.body.error).toMatch(/view-only/)
    expect(previewFiles(s)).toEqual([])

    const edit = signer.sign({ roomId: ROOM, mode: 'edit', expiresAt: Date.now() + 60_000 })
    expect((await put(s, png(), edit)).status).toBe(200)
    expect((await put(s, png(), ROOM)).status).toBe(200)
    expect(previewFiles(s)).toHaveLength(1)
  })

  test('[S101] only a PNG or WebP (by its bytes) of at most MAX_PREVIEW_BYTES is taken; anything else leaves the old preview', async () => {
    const s = await server({ MAX_PREVIEW_BYTES: '4096' })
    const first = await put(s, png(300, 640, 400))
    expect(first).toMatchObject({ status: 200, body: { width: 640, height: 400 } })
    const url = first.body.url!
    const before = Buffer.from(await (await get(s, url)).arrayBuffer())

    // Declared too big, and streamed too big without a length.
    expect((await put(s, png(5000))).status).toBe(413)
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: s.port, path: '/api/previews', method: 'PUT', headers: { [ASSET_BOARD_HEADER]: ROOM } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(0) : reject(err)))
      const body = png(8000)
      for (let at = 0; at < body.length; at += 512) req.write(body.subarray(at, at + 512))
      req.end()
    })
    expect([413, 0]).toContain(streamed)
    // Declared as an image, but HTML; a JPEG; a PNG that claims to be 100,000 pixels wide; nothing.
    expect((await put(s, Buffer.from('<html><script>alert(1)</script></html>'))).status).toBe(415)
    expect((await put(s, Buffer.from('ffd8ffe000104a464946000101', 'hex'), ROOM, 'image/jpeg')).status).toBe(415)
    expect((await put(s, png(300, 100_000, 10))).status).toBe(415)
    expect((await put(s, Buffer.alloc(0))).status).toBe(415)

    const after = Buffer.from(await (await get(s, url)).arrayBuffer())
    expect(after.equals(before)).toBe(true)
    expect(previewFiles(s)).toHaveLength(1)

    // A WebP is taken and served as one; it replaces the PNG.
    const w = await put(s, webp(), ROOM, 'image/webp')
    expect(w).toMatchObject({ status: 200, body: { width: 640, height: 400 } })
    const served = await get(s, w.body.url!)
    expect(served.headers.get('content-type')).toBe('image/webp')
  })

  test('[S102] a preview is served at the board view link only: never by room id or edit token, and the URL names neither', async () => {
    const s = await server()
    const uploaded = await put(s, png(400, 640, 400))
    const view = signer.sign({ roomId: ROOM, mode: 'view', expiresAt: null })
    expect(uploaded.body.url).toBe(`/api/previews/${view}`)
    expect(uploaded.body.url).not.toContain(ROOM)

    const res = await get(s, uploaded.body.url!)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/png')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(Buffer.from(await res.arrayBuffer()).equals(png(400, 640, 400))).toBe(true)
    const etag = res.headers.get('etag')!
    expect((await get(s, uploaded.body.url!, { 'if-none-match': etag })).status).toBe(304)

    // The same board, by what edits it: nothing.
    const edit = signer.sign({ roomId: ROOM, mode: 'edit', expiresAt: null })
    expect((await get(s, `/api/previews/${ROOM}`)).status).toBe(404)
    expect((await get(s, `/api/previews/${edit}`)).status).toBe(404)
    expect((await get(s, `/api/previews/${view.slice(0, -3)}AAA`)).status).toBe(404)
    // Another board's view link: no preview of this one.
    expect((await get(s, `/api/previews/${signer.sign({ roomId: 'AnotherBoardRoom123456', mode: 'view', expiresAt: null })}`)).status).toBe(
      404,
    )
    // An expiring view link serves it until it expires.
    const soon = signer.sign({ roomId: ROOM, mode: 'view', expiresAt: Date.now() + 60_000 })
    expect((await get(s, `/api/previews/${soon}`)).status).toBe(200)
    const gone = signer.sign({ roomId: ROOM, mode: 'view', expiresAt: Date.now() - 1 })
    expect((await get(s, `/api/previews/${gone}`)).status).toBe(410)
    // Previews are written by uploads alone.
    expect((await fetch(`http://127.0.0.1:${s.port}/api/previews/${view}`, { method: 'DELETE' })).status).toBe(404)
  })

  test('[S103] after Reset links the old preview URL stops working and uploads answer the new one', async () => {
    const s = await server()
    const old = (await put(s, png())).body.url!
    const reset = await fetch(`http://127.0.0.1:${s.port}/api/links/reset`, { method: 'POST', body: JSON.stringify({ roomId: ROOM }) })
    expect(reset.status).toBe(200)
    const { view } = (await reset.json()) as { view: string }
    expect((await get(s, old)).status).toBe(410)
    const fresh = (await put(s, png())).body.url!
    expect(fresh).not.toBe(old)
    expect(fresh).toBe(`/api/previews/${view.slice('/v/'.length)}`)
    expect((await get(s, fresh)).status).toBe(200)
  })

  test('[S104] each address has an upload budget per hour; past it, 429 and nothing changes', async () => {
    const s = await server({ MAX_UPLOAD_BYTES_PER_ADDRESS: '2048' })
    expect((await put(s, png(1500))).status).toBe(200)
    const over = await put(s, png(1500, 3, 3))
    expect(over.status).toBe(429)
  })

  test('[S105] oEmbed gives the board title and a thumbnail at its view link, absolute on PUBLIC_URL, for board and view links', async () => {
    const s = await server({ VERSION_AFTER_QUIET_MS: '100' })
    // The title, written like any editor writes it, reaches the catalog with the next version.
    const client = scope.client(s, ROOM)
    client.doc.getMap(META_KEY).set(TITLE_KEY, 'Roadmap')
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${s.port}/api/oembed?url=${encodeURIComponent(`${PUBLIC_URL}/b/${ROOM}`)}`)
      return ((await res.json()) as { title: string }).title === 'Roadmap'
    }, 'the title in oEmbed')

    const none = (await (await get(s, `/api/oembed?url=${encodeURIComponent(`${PUBLIC_URL}/b/${ROOM}`)}`)).json()) as Record<
      string,
      unknown
    >
    expect(none.thumbnail_url).toBeUndefined()

    await put(s, png(300, 640, 400))
    const view = signer.sign({ roomId: ROOM, mode: 'view', expiresAt: null })
    for (const page of [`/b/${ROOM}`, `/v/${view}`]) {
      const res = await get(s, `/api/oembed?url=${encodeURIComponent(PUBLIC_URL + page)}`)
      const body = (await res.json()) as Record<string, unknown>
      expect(body).toMatchObject({
        title: 'Roadmap',
        thumbnail_url: `${PUBLIC_URL}/api/previews/${view}`,
        thumbnail_width: 640,
        thumbnail_height: 400,
      })
      expect(String(body.thumbnail_url)).not.toContain(ROOM)
    }
  })
})
