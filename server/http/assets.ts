/**
 * The image store behind `/api/assets`: uploads are streamed to disk, named by the
 * SHA-256 of their bytes, and served back with headers that keep browsers from
 * guessing a type. Plain Node, no framework, so the router can call it before Next.js.
 *
 * An upload needs an edit capability for a board, and is held to budgets: bytes per
 * address and per board over a rolling hour, uploads at once per address and in total,
 * the size of the whole store, the free space left on its disk, and a body rate below
 * which it is dropped.
 */
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform, type TransformCallback } from 'node:stream'
import { ASSET_BOARD_HEADER, ASSET_TYPES, ASSETS_PATH, SNIFF_BYTES, sniffImageType } from '../../lib/assets'
import { looksLikeToken } from '../../lib/links'
import { isValidRoomId } from '../../lib/roomId'
import { RateLimiter } from './RateLimiter'
import { sendJson } from './responses'
import { type Grant, TokenError } from './tokens'

export interface UploadLimits {
  /** Largest upload accepted, in bytes (MAX_ASSET_BYTES). */
  maxBytes: number
  /** Bytes one client address may upload per rolling hour (MAX_UPLOAD_BYTES_PER_ADDRESS). */
  perAddressBytes: number
  /** Bytes uploaded for one board per rolling hour, by everyone (MAX_UPLOAD_BYTES_PER_BOARD). */
  perBoardBytes: number
  /** Bytes the whole asset directory may hold (MAX_ASSETS_BYTES). */
  totalBytes: number
  /** Uploads are refused while less than this would stay free on the disk (MIN_FREE_DISK_BYTES). */
  minFreeDiskBytes: number
  /** Uploads one address may have running at once (MAX_CONCURRENT_UPLOADS_PER_ADDRESS). */
  concurrentPerAddress: number
  /** Uploads running at once, from everyone (MAX_CONCURRENT_UPLOADS). */
  concurrentTotal: number
  /** An upload that brings fewer bytes than this per second, over any `rateWindowMs`, is dropped (MIN_UPLOAD_BYTES_PER_SECOND). */
  minBytesPerSecond: number
}

// The sniffing rule lives in lib/, where the editor checks a file before it uploads it.
export { sniffImageType }

export interface AssetStoreOptions {
  /** Directory for asset files; created on first upload. */
  dir: string
  limits: UploadLimits
  /** The grant in a link token, still valid for its board; rejects with TokenError. */
  verify(token: string): Promise<Grant>
  /** The client's address (addresses.ts), for its budget. */
  address(req: http.IncomingMessage): string
  /** How long the body rate is measured over (default 5 s). */
  rateWindowMs?: number
  /** Told about failures that are the server's fault (disk full, permissions). */
  onError?: (err: unknown) => void
}

const HOUR_MS = 3_600_000

const HASH_PATTERN = /^[0-9a-f]{64}$/

/** An upload refused part-way: the status and the sentence for the client. */
class UploadRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
  }
}

/** Errors of a client that went away mid-upload: not the server's to report. */
const CLIENT_GONE = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'EPIPE'])

/**
 * The board an upload is for, from its `x-sketchroom-board` header: a room id or an edit
 * token. No header, or a link that is not valid, is 401; a view-only link 403.
 */
async function uploadBoard(
  header: string | string[] | undefined,
  verify: (token: string) => Promise<Grant>,
): Promise<string | UploadRefused> {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return new UploadRefused(401, `Images can only be added to a board: send its link in ${ASSET_BOARD_HEADER}.`)
  if (looksLikeToken(value)) {
    try {
      const grant = await verify(value)
      return grant.mode === 'edit' ? grant.roomId : new UploadRefused(403, 'This is a view-only link: it cannot add images.')
    } catch (err) {
      return new UploadRefused(
        401,
        err instanceof TokenError ? `Cannot add images: ${err.message}.` : 'Cannot add images: this link is not valid.',
      )
    }
  }
  return isValidRoomId(value) ? value : new UploadRefused(401, 'Cannot add images: this link is not valid.')
}

const megabytes = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`

/**
 * Handles `/api/assets` and `/api/assets/<sha256>`; returns false for any other path so
 * the caller can fall through.
 *
 * - `POST /api/assets` (body: the raw file; header `x-sketchroom-board`: the room id or an
 *   edit token) → 201 `{ url, type, bytes }`; 401/403 without an edit capability; 413 over
 *   the size limit; 415 not an accepted image; 429 over a budget or too many uploads from
 *   this address; 503 too many uploads in all; 507 the store or its disk is full; 408 a
 *   body that arrives too slowly. Nothing is left behind on failure: the upload is written
 *   to a temp file and renamed into place only once complete and checked. Error bodies
 *   are sentences for the user, never internal details.
 * - `GET /api/assets/<sha256>` → the bytes, immutable for a year.
 * - `GET /api/assets` → `{ maxBytes, types }`, so the client can refuse early.
 *
 * @example
 * const assets = createAssetHandler({ dir: path.join(dataDir, 'assets'), limits, verify: (t) => signer.verify(t), address })
 * http.createServer((req, res) => { if (!assets(req, res)) next(req, res) })
 */
/** The asset routes; `recount()` makes the next upload count the stored bytes afresh (after files were deleted). */
export type AssetHandler = ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) & { recount(): void }

export function createAssetHandler(options: AssetStoreOptions): AssetHandler {
  const { limits } = options
  const dir = path.resolve(options.dir)
  const tmpDir = path.join(dir, 'tmp')
  const rateWindowMs = options.rateWindowMs ?? 5000
  const perAddress = new RateLimiter(limits.perAddressBytes, HOUR_MS)
  const perBoard = new RateLimiter(limits.perBoardBytes, HOUR_MS)
  const running = new Map<string, number>()
  let runningTotal = 0
  /** Bytes the uploads in progress have written, and may still write (their declared size, else the limit). */
  let inFlightBytes = 0
  let reservedBytes = 0
  let ready: Promise<void> | null = null
  // A failure is not remembered: the next upload tries again (the operator may have fixed the disk).
  const ensureDirs = () =>
    (ready ??= fsp.mkdir(tmpDir, { recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        ready = null
        throw err
      },
    ))
  // The bytes of stored assets: counted once from the disk, then kept up to date.
  let storedBytes: Promise<number> | null = null
  const countStored = () =>
    (storedBytes ??= ensureDirs()
      .then(async () => {
        let total = 0
        for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
          if (entry.isFile()) total += (await fsp.stat(path.join(dir, entry.name))).size
        }
        return total
      })
      .catch((err: unknown) => {
        storedBytes = null
        throw err
      }))

  const fail = (res: http.ServerResponse, status: number, error: string, retryAfterSeconds?: number) => {
    if (res.headersSent) return void res.destroy()
    if (retryAfterSeconds !== undefined) res.setHeader('retry-after', String(retryAfterSeconds))
    sendJson(res, status, { error })
  }
  const refuse = (res: http.ServerResponse, refusal: UploadRefused) => {
    // Refused before the body was read: closing stops the client from sending the rest.
    res.setHeader('connection', 'close')
    fail(res, refusal.status, refusal.message, refusal.retryAfterSeconds)
  }
  const budgetRefusal = (who: 'address' | 'board') =>
    new UploadRefused(
      429,
      who === 'address'
        ? `Too many images from your address this hour (the limit is ${megabytes(limits.perAddressBytes)}); try again later.`
        : `Too many images were added to this board this hour (the limit is ${megabytes(limits.perBoardBytes)}); try again later.`,
      600,
    )
  const storeFull = () => new UploadRefused(507, 'The server has no room for more images right now.')

  async function upload(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const board = await uploadBoard(req.headers[ASSET_BOARD_HEADER], options.verify)
    if (board instanceof UploadRefused) return refuse(res, board)
    const address = options.address(req)
    const mine = running.get(address) ?? 0
    if (mine >= limits.concurrentPerAddress) {
      return refuse(res, new UploadRefused(429, `You have ${mine} uploads running; wait for one to finish.`, 5))
    }
    if (runningTotal >= limits.concurrentTotal)
      return refuse(res, new UploadRefused(503, 'The server is busy with other uploads; try again shortly.', 5))
    running.set(address, mine + 1)
    runningTotal++
    const declared = Number(req.headers['content-length'])
    const reserve = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, limits.maxBytes) : limits.maxBytes
    reservedBytes += reserve
    try {
      await admitted(req, res, board, address, declared, reserve)
    } finally {
      reservedBytes -= reserve
      runningTotal--
      const left = (running.get(address) ?? 1) - 1
      if (left === 0) running.delete(address)
      else running.set(address, left)
    }
  }

  async function admitted(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    board: string,
    address: string,
    declared: number,
    reserve: number,
  ) {
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      return refuse(res, new UploadRefused(413, `The file is too big: the limit is ${megabytes(limits.maxBytes)}.`))
    }
    if (Number.isFinite(declared) && !perAddress.allows(address, declared)) return refuse(res, budgetRefusal('address'))
    if (Number.isFinite(declared) && !perBoard.allows(board, declared)) return refuse(res, budgetRefusal('board'))
    const stored = await countStored()
    if (stored + inFlightBytes + reserve > limits.totalBytes) return refuse(res, storeFull())
    const disk = await fsp.statfs(dir)
    // Others' reservations still to be written, and this one, must leave the margin free.
    if (disk.bavail * disk.bsize - reservedBytes < limits.minFreeDiskBytes) return refuse(res, storeFull())

    const tmp = path.join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`)
    const hash = createHash('sha256')
    let bytes = 0
    let head = Buffer.alloc(0)
    let recent = 0
    const stop = new AbortController()
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        bytes += chunk.length
        recent += chunk.length
        inFlightBytes += chunk.length
        if (bytes > limits.maxBytes) return done(new UploadRefused(413, `The file is too big: the limit is ${megabytes(limits.maxBytes)}.`))
        if (!perAddress.take(address, chunk.length)) return done(budgetRefusal('address'))
        if (!perBoard.take(board, chunk.length)) return done(budgetRefusal('board'))
        if (stored + inFlightBytes > limits.totalBytes) return done(storeFull())
        if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)])
        hash.update(chunk)
        done(null, chunk)
      },
    })
    // A body that trickles would hold its slot until the request timeout: drop it.
    const slow = setInterval(() => {
      if (recent < (limits.minBytesPerSecond * rateWindowMs) / 1000) {
        stop.abort(new UploadRefused(408, 'The upload was too slow and was stopped; try again on a better connection.'))
      }
      recent = 0
    }, rateWindowMs)
    try {
      await pipeline(req, meter, fs.createWriteStream(tmp, { flags: 'wx' }), { signal: stop.signal })
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      const refusal = stop.signal.aborted ? (stop.signal.reason as UploadRefused) : err
      if (refusal instanceof UploadRefused) return refuse(res, refusal)
      if (CLIENT_GONE.has((err as { code?: string }).code ?? '') || req.destroyed) return void res.destroy()
      throw err
    } finally {
      clearInterval(slow)
      inFlightBytes -= bytes
    }
    const type = sniffImageType(head)
    if (bytes === 0 || !type) {
      await fsp.rm(tmp, { force: true })
      return fail(res, 415, 'Only PNG, JPEG, GIF and WebP images can be added to a board.')
    }
    const digest = hash.digest('hex')
    const file = path.join(dir, digest)
    const isNew = await fsp.access(file).then(
      () => false,
      () => true,
    )
    // Same bytes, same name: a second upload of one image just replaces it with itself.
    await fsp.rename(tmp, file)
    if (isNew) storedBytes = countStored().then((total) => total + bytes)
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

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const pathname = (req.url ?? '/').split('?')[0]!
    if (pathname !== ASSETS_PATH && !pathname.startsWith(`${ASSETS_PATH}/`)) return false
    const rest = pathname.slice(ASSETS_PATH.length + 1)
    let work: Promise<void>
    if (pathname === ASSETS_PATH && req.method === 'POST') work = upload(req, res)
    else if (pathname === ASSETS_PATH && req.method === 'GET') {
      sendJson(res, 200, { maxBytes: limits.maxBytes, types: ASSET_TYPES })
      return true
    } else if (HASH_PATTERN.test(rest) && (req.method === 'GET' || req.method === 'HEAD')) work = serve(rest, req, res)
    else {
      fail(res, pathname === ASSETS_PATH || HASH_PATTERN.test(rest) ? 405 : 404, 'Not found.')
      return true
    }
    work.catch((err: unknown) => {
      options.onError?.(err)
      // The error may name files of the server: it goes to the log, never to the client.
      fail(res, 500, 'Something went wrong with this image on the server; try again later.')
    })
    return true
  }
  return Object.assign(handle, {
    recount: () => {
      storedBytes = null
    },
  })
}
