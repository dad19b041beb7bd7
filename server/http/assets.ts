/**
 * The image store behind `/api/assets`: uploads are streamed to disk, named by the
 * SHA-256 of their bytes, and served back with headers that keep browsers from
 * guessing a type. Plain Node, no framework, so the router can call it before Next.js.
 */
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform, type TransformCallback } from 'node:stream'
import { ASSET_TYPES, ASSETS_PATH, SNIFF_BYTES, sniffImageType } from '../../lib/assets'
import { sendJson } from './responses'

// The sniffing rule lives in lib/, where the editor checks a file before it uploads it.
export { sniffImageType }

export interface AssetStoreOptions {
  /** Directory for asset files; created on first upload. */
  dir: string
  /** Largest upload accepted, in bytes. */
  maxBytes: number
  /** Told about failures that are the server's fault (disk full, permissions). */
  onError?: (err: unknown) => void
}

const HASH_PATTERN = /^[0-9a-f]{64}$/

class UploadTooLarge extends Error {}

/**
 * Handles `/api/assets` and `/api/assets/<sha256>`; returns false for any other path so
 * the caller can fall through.
 *
 * - `POST /api/assets` (body: the raw file) → 201 `{ url, type, bytes }`; 413 over the
 *   limit; 415 not an accepted image. Nothing is left behind on failure: the upload is
 *   written to a temp file and renamed into place only once complete and checked.
 * - `GET /api/assets/<sha256>` → the bytes, immutable for a year.
 * - `GET /api/assets` → `{ maxBytes, types }`, so the client can refuse early.
 *
 * @example
 * const assets = createAssetHandler({ dir: path.join(dataDir, 'assets'), maxBytes: 10 * 2 ** 20 })
 * http.createServer((req, res) => { if (!assets(req, res)) next(req, res) })
 */
export function createAssetHandler(options: AssetStoreOptions): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const dir = path.resolve(options.dir)
  const tmpDir = path.join(dir, 'tmp')
  let ready: Promise<void> | null = null
  const ensureDirs = () => (ready ??= fsp.mkdir(tmpDir, { recursive: true }).then(() => undefined))

  const fail = (res: http.ServerResponse, status: number, error: string) => {
    if (res.headersSent) return void res.destroy()
    sendJson(res, status, { error })
  }
  const limitText = `${Math.round((options.maxBytes / 1024 / 1024) * 10) / 10} MB`

  async function upload(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      // Refuse before reading; closing afterwards stops the client from sending the rest.
      res.setHeader('connection', 'close')
      return fail(res, 413, `The file is too big: the limit is ${limitText}.`)
    }
    await ensureDirs()
    const tmp = path.join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`)
    const hash = createHash('sha256')
    let bytes = 0
    let head = Buffer.alloc(0)
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        bytes += chunk.length
        if (bytes > options.maxBytes) return done(new UploadTooLarge())
        if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)])
        hash.update(chunk)
        done(null, chunk)
      },
    })
    try {
      await pipeline(req, meter, fs.createWriteStream(tmp, { flags: 'wx' }))
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      if (err instanceof UploadTooLarge) {
        res.setHeader('connection', 'close')
        return fail(res, 413, `The file is too big: the limit is ${limitText}.`)
      }
      throw err
    }
    const type = sniffImageType(head)
    if (bytes === 0 || !type) {
      await fsp.rm(tmp, { force: true })
      return fail(res, 415, 'Only PNG, JPEG, GIF and WebP images can be added to a board.')
    }
    const digest = hash.digest('hex')
    // Same bytes, same name: a second upload of one image just replaces it with itself.
    await fsp.rename(tmp, path.join(dir, digest))
    sendJson(res, 201, { url: `${ASSETS_PATH}/${digest}`, type, bytes })
  }

  async function serve(hash: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const file = path.join(dir, hash)
    let handle: fsp.FileHandle
    try {
      handle = await fsp.open(file, 'r')
    } catch {
      return fail(res, 404, 'No such asset.')
    }
    try {
      const { size } = await handle.stat()
      const head = Buffer.alloc(SNIFF_BYTES)
      await handle.read(head, 0, SNIFF_BYTES, 0)
      const type = sniffImageType(head)
      if (!type) return fail(res, 404, 'No such asset.')
      const etag = `"${hash}"`
      const headers = {
        'content-type': type,
        'x-content-type-options': 'nosniff',
        // The name is the hash of the bytes, so the response can never change.
        'cache-control': 'public, max-age=31536000, immutable',
        etag,
        'content-security-policy': "default-src 'none'",
        'cross-origin-resource-policy': 'same-origin',
      }
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers).end()
        return
      }
      res.writeHead(200, { ...headers, 'content-length': size })
      if (req.method === 'HEAD') return void res.end()
      await pipeline(handle.createReadStream({ start: 0, autoClose: false }), res)
    } finally {
      await handle.close()
    }
  }

  return (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!
    if (pathname !== ASSETS_PATH && !pathname.startsWith(`${ASSETS_PATH}/`)) return false
    const rest = pathname.slice(ASSETS_PATH.length + 1)
    let work: Promise<void>
    if (pathname === ASSETS_PATH && req.method === 'POST') work = upload(req, res)
    else if (pathname === ASSETS_PATH && req.method === 'GET') {
      sendJson(res, 200, { maxBytes: options.maxBytes, types: ASSET_TYPES })
      return true
    } else if (HASH_PATTERN.test(rest) && (req.method === 'GET' || req.method === 'HEAD')) work = serve(rest, req, res)
    else {
      fail(res, pathname === ASSETS_PATH || HASH_PATTERN.test(rest) ? 405 : 404, 'Not found.')
      return true
    }
    work.catch((err: unknown) => {
      options.onError?.(err)
      fail(res, 500, `Could not handle the asset: ${err instanceof Error ? err.message : String(err)}`)
    })
    return true
  }
}
