/**
 * Board previews: a small picture of each board (PNG or WebP, about 640×400) that its
 * editors' browsers render with tldraw's image export and upload after changes. One file
 * per board, replaced by every upload, kept beside the assets (`DATA_DIR/previews`).
 *
 * A preview is uploaded with an edit capability (as images are) and served at a URL made
 * of the board's view link, never of its room id or an edit token: whoever may see the
 * preview (an unfurler given a view link, a page that shows a thumbnail) learns nothing
 * that edits. A link reset changes the view link, and so the preview URL.
 *
 *   PUT  /api/previews                 body: the image; header x-sketchroom-board: room id or edit token
 *                                      → 200 {"url": "/api/previews/<view token>", "width", "height"}
 *   GET  /api/previews/<view token>    → the image (404 for an edit token, a room id, or no preview)
 */
import { createHash, randomBytes } from 'node:crypto'
import fsp from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'
import { ASSET_BOARD_HEADER } from '../../lib/assets'
import { looksLikeToken, PREVIEWS_PATH } from '../../lib/links'
import { isValidRoomId } from '../../lib/roomId'
import type { BoardCatalog } from '../storage/Store'
import type { BoardLinks } from './links'
import { RateLimiter } from './RateLimiter'
import { sendJson } from './responses'
import { type Grant, TokenError } from './tokens'

export type PreviewType = 'image/png' | 'image/webp'

/** What a preview's first bytes say it is; null for anything but a PNG or WebP of a sane size. */
export interface PreviewImage {
  type: PreviewType
  width: number
  height: number
}

/** The largest preview side taken: twice the ~640×400 a browser renders, for high-density screens. */
export const MAX_PREVIEW_SIDE = 2048
/** How many leading bytes `previewImageInfo` needs. */
export const PREVIEW_HEAD_BYTES = 32

/**
 * The type and size of a preview image from its first bytes (never its declared type):
 * a PNG (its IHDR) or a WebP (lossy, lossless or extended), at most `MAX_PREVIEW_SIDE`
 * pixels a side; null otherwise.
 *
 * @example
 * previewImageInfo(bytes.subarray(0, PREVIEW_HEAD_BYTES)) // { type: 'image/png', width: 640, height: 400 }
 */
export function previewImageInfo(head: Uint8Array): PreviewImage | null {
  const b = (i: number) => head[i] ?? 0
  const ascii = (from: number, text: string) =>
    head.length >= from + text.length && [...text].every((c, i) => b(from + i) === c.charCodeAt(0))
  const sane = (type: PreviewType, width: number, height: number): PreviewImage | null =>
    width >= 1 && height >= 1 && width <= MAX_PREVIEW_SIDE && height <= MAX_PREVIEW_SIDE ? { type, width, height } : null
  if (b(0) === 0x89 && ascii(1, 'PNG\r\n\x1a\n') && ascii(12, 'IHDR') && head.length >= 24) {
    const u32 = (i: number) => ((b(i) << 24) | (b(i + 1) << 16) | (b(i + 2) << 8) | b(i + 3)) >>> 0
    return sane('image/png', u32(16), u32(20))
  }
  if (!ascii(0, 'RIFF') || !ascii(8, 'WEBP') || head.length < 30) return null
  if (ascii(12, 'VP8 ')) {
    // Lossy: a key frame's start code, then 14-bit width and height.
    if (b(23) !== 0x9d || b(24) !== 0x01 || b(25) !== 0x2a) return null
    return sane('image/webp', (b(26) | (b(27) << 8)) & 0x3fff, (b(28) | (b(29) << 8)) & 0x3fff)
  }
  if (ascii(12, 'VP8L')) {
    if (b(20) !== 0x2f) return null
    const width = 1 + (((b(22) & 0x3f) << 8) | b(21))
    const height = 1 + (((b(24) & 0x0f) << 10) | (b(23) << 2) | ((b(22) & 0xc0) >> 6))
    return sane('image/webp', width, height)
  }
  if (ascii(12, 'VP8X')) {
    const u24 = (i: number) => b(i) | (b(i + 1) << 8) | (b(i + 2) << 16)
    return sane('image/webp', 1 + u24(24), 1 + u24(27))
  }
  return null
}

export interface PreviewOptions {
  /** Directory for preview files; created on first upload. */
  dir: string
  /** Largest preview accepted, in bytes (MAX_PREVIEW_BYTES). */
  maxBytes: number
  /** Bytes one address may upload per rolling hour, previews alone (MAX_UPLOAD_BYTES_PER_ADDRESS). */
  perAddressBytes: number
  /** Uploads are refused while less than this would stay free on the disk (MIN_FREE_DISK_BYTES). */
  minFreeDiskBytes: number
  links: Pick<BoardLinks, 'verify' | 'sign'>
  catalog: Pick<BoardCatalog, 'board'>
  /** The client's address (addresses.ts), for its budget. */
  address(req: http.IncomingMessage): string
  /** Told about failures that are the server's fault (disk full, permissions). */
  onError?: (err: unknown) => void
}

/** What a board page, oEmbed and the like may say about a board: never anything that edits. */
export interface BoardPreviewInfo {
  /** The board's title as the catalog last heard it ('' for none). */
  title: string
  /** The preview, when the board has one: its path (made of the view link), type and size. */
  preview: (PreviewImage & { path: string }) | null
}

export interface Previews {
  /** Handles `/api/previews…`; false for other paths. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean
  /** The title and preview of the board a page path opens (`/b/<id>`, `/e/<token>`, `/v/<token>`), or null. */
  forPage(pathname: string): Promise<BoardPreviewInfo | null>
  /** The title and preview of a board, the preview served by `viewToken` if given (else the board's own view link). */
  forBoard(roomId: string, viewToken?: string): Promise<BoardPreviewInfo>
}

const HOUR_MS = 3_600_000

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Where a board's preview is kept in `dir`: named by a digest of the room id, so a directory listing gives away no board. */
export function previewFile(dir: string, roomId: string): string {
  return path.join(path.resolve(dir), createHash('sha256').update(`sketchroom-preview:${roomId}`).digest('hex'))
}

/**
 * @example
 * const previews = createPreviews({ dir: path.join(dataDir, 'previews'), maxBytes: 256 * 1024, links, catalog, address, ... })
 * http.createServer((req, res) => { if (!previews.handle(req, res)) next(req, res) })
 */
export function createPreviews(options: PreviewOptions): Previews {
  const dir = path.resolve(options.dir)
  const perAddress = new RateLimiter(options.perAddressBytes, HOUR_MS)
  const fileOf = (roomId: string) => previewFile(dir, roomId)
  const viewLink = (roomId: string) => options.links.sign({ roomId, mode: 'view', expiresAt: null })

  const fail = (res: http.ServerResponse, status: number, error: string) => {
    if (res.headersSent) return void res.destroy()
    sendJson(res, status, { error })
  }

  /** The room of an upload's edit capability (a room id or an edit token). */
  async function editRoom(req: http.IncomingMessage): Promise<string> {
    const raw = req.headers[ASSET_BOARD_HEADER]
    const value = Array.isArray(raw) ? raw[0] : raw
    if (!value) throw new Refused(401, `A preview needs the board's link in ${ASSET_BOARD_HEADER}.`)
    if (looksLikeToken(value)) {
      let grant: Grant
      try {
        grant = await options.links.verify(value)
      } catch (err) {
        if (err instanceof TokenError) throw new Refused(401, `Cannot save a preview: ${err.message}.`)
        throw err
      }
      if (grant.mode !== 'edit') throw new Refused(403, 'This is a view-only link: it cannot change the preview.')
      return grant.roomId
    }
    if (!isValidRoomId(value)) throw new Refused(401, 'Cannot save a preview: this link is not valid.')
    return value
  }

  /** The body, at most `maxBytes`, charged to the address's budget as it arrives. */
  function readImage(req: http.IncomingMessage, address: string): Promise<Buffer> {
    const tooBig = () => new Refused(413, `A preview may be at most ${Math.round(options.maxBytes / 1024)} KiB.`)
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > options.maxBytes) return Promise.reject(tooBig())
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let bytes = 0
      const stop = (err: Refused) => {
        req.removeAllListeners('data')
        req.resume()
        reject(err)
      }
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (bytes > options.maxBytes) return stop(tooBig())
        if (!perAddress.take(address, chunk.length)) return stop(new Refused(429, 'Too many previews from your address this hour.'))
        chunks.push(chunk)
      })
      req.on('end', () => resolve(Buffer.concat(chunks)))
      req.on('error', reject)
    })
  }

  async function upload(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const roomId = await editRoom(req)
    const board = await options.catalog.board(roomId)
    if (board?.deletedAt != null) throw new Refused(410, 'This board was deleted.')
    const image = await readImage(req, options.address(req))
    const info = previewImageInfo(image.subarray(0, PREVIEW_HEAD_BYTES))
    if (!info) throw new Refused(415, `A preview must be a PNG or WebP image of at most ${MAX_PREVIEW_SIDE} pixels a side.`)
    await fsp.mkdir(dir, { recursive: true })
    const disk = await fsp.statfs(dir)
    if (disk.bavail * disk.bsize - image.length < options.minFreeDiskBytes)
      throw new Refused(507, 'The server has no room for previews right now.')
    const tmp = `${fileOf(roomId)}.${randomBytes(6).toString('hex')}.tmp`
    try {
      await fsp.writeFile(tmp, image, { flag: 'wx' })
      // Atomic: a reader gets the old preview or the new one, never half of one.
      await fsp.rename(tmp, fileOf(roomId))
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      throw err
    }
    sendJson(res, 200, { url: `${PREVIEWS_PATH}/${await viewLink(roomId)}`, width: info.width, height: info.height })
  }

  async function readPreview(roomId: string): Promise<{ bytes: Buffer; info: PreviewImage } | null> {
    let bytes: Buffer
    try {
      bytes = await fsp.readFile(fileOf(roomId))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    const info = previewImageInfo(bytes.subarray(0, PREVIEW_HEAD_BYTES))
    return info ? { bytes, info } : null
  }

  async function serve(token: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Only a view link names a preview: a room id or an edit token in a URL would be an edit link in a log.
    let grant: Grant | null = null
    if (looksLikeToken(token)) {
      try {
        grant = await options.links.verify(token)
      } catch (err) {
        if (!(err instanceof TokenError)) throw err
        if (err.problem === 'expired' || err.problem === 'revoked') throw new Refused(410, 'This link no longer works.')
      }
    }
    if (!grant || grant.mode !== 'view') throw new Refused(404, 'No such preview.')
    const board = await options.catalog.board(grant.roomId)
    const found = board?.deletedAt == null ? await readPreview(grant.roomId) : null
    if (!found) throw new Refused(404, 'No such preview.')
    const etag = `"${createHash('sha256').update(found.bytes).digest('base64url').slice(0, 27)}"`
    const headers = {
      'content-type': found.info.type,
      'x-content-type-options': 'nosniff',
      // It changes with the board: a cache asks again each time, and gets 304 while it has not.
      'cache-control': 'public, no-cache',
      etag,
      // Thumbnails are shown by other sites (oEmbed consumers, chat apps).
      'cross-origin-resource-policy': 'cross-origin',
    }
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end()
    res.writeHead(200, { ...headers, 'content-length': found.bytes.length })
    res.end(req.method === 'HEAD' ? undefined : found.bytes)
  }

  /** The preview's type and size from its first bytes alone: every board page asks. */
  async function previewInfo(roomId: string): Promise<PreviewImage | null> {
    let handle: fsp.FileHandle
    try {
      handle = await fsp.open(fileOf(roomId), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    try {
      const head = Buffer.alloc(PREVIEW_HEAD_BYTES)
      const { bytesRead } = await handle.read(head, 0, PREVIEW_HEAD_BYTES, 0)
      return previewImageInfo(head.subarray(0, bytesRead))
    } finally {
      await handle.close()
    }
  }

  async function forBoard(roomId: string, viewToken?: string): Promise<BoardPreviewInfo> {
    const board = await options.catalog.board(roomId)
    if (board?.deletedAt != null) return { title: '', preview: null }
    const found = await previewInfo(roomId)
    const preview = found ? { ...found, path: `${PREVIEWS_PATH}/${viewToken ?? (await viewLink(roomId))}` } : null
    return { title: board?.title ?? '', preview }
  }

  async function forPage(pathname: string): Promise<BoardPreviewInfo | null> {
    const [, head, arg, ...rest] = pathname.split('/')
    if (!arg || rest.length) return null
    if (head === 'b') return isValidRoomId(arg) ? forBoard(arg) : null
    if ((head === 'v' || head === 'e') && looksLikeToken(arg)) {
      let grant: Grant
      try {
        grant = await options.links.verify(arg)
      } catch (err) {
        if (err instanceof TokenError) return null
        throw err
      }
      // A view page names its own link; an edit-token page the board's view link, never itself.
      return forBoard(grant.roomId, grant.mode === 'view' ? arg : undefined)
    }
    return null
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const pathname = (req.url ?? '/').split('?')[0]!
    if (pathname !== PREVIEWS_PATH && !pathname.startsWith(`${PREVIEWS_PATH}/`)) return false
    let work: Promise<void>
    if (pathname === PREVIEWS_PATH && (req.method === 'PUT' || req.method === 'POST')) work = upload(req, res)
    else if (pathname.startsWith(`${PREVIEWS_PATH}/`) && (req.method === 'GET' || req.method === 'HEAD'))
      work = serve(pathname.slice(PREVIEWS_PATH.length + 1), req, res)
    else {
      fail(res, pathname === PREVIEWS_PATH ? 405 : 404, pathname === PREVIEWS_PATH ? 'Use PUT.' : 'No such preview.')
      return true
    }
    work.catch((err: unknown) => {
      if (err instanceof Refused) {
        // Refused before the body was read: closing stops the client from sending the rest.
        if (!req.readableEnded) res.setHeader('connection', 'close')
        return fail(res, err.status, err.message)
      }
      options.onError?.(err)
      fail(res, 500, 'Something went wrong with this preview on the server; try again later.')
    })
    return true
  }

  return { handle, forPage, forBoard }
}
