/**
 * Deletes uploaded images that nothing refers to any more.
 *
 * An image is referred to by its URL, `/api/assets/<sha256>`, in the `src` of a tldraw
 * asset record. The collector reads every stored board (in the trash too): its log and
 * every version it keeps, and looks for that URL in the bytes (Yjs keeps strings as UTF-8,
 * so the URL is there verbatim, whatever shape holds it). An image none
 * of them mentions, last written more than `graceMs` ago, is deleted. The grace covers
 * an upload whose shape is not stored yet and a deletion undone within a session; an
 * image a version still mentions stays, so restoring that version finds it.
 *
 * @example
 * const { deleted, freedBytes } = await collectUnusedAssets({ dir, store, graceMs: 86_400_000 })
 */
import fsp from 'node:fs/promises'
import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { assetsMentionedIn } from '../../lib/assets'
import type { Logger } from 'pino'
import type { Store } from '../storage/Store'

const HASH = /^[0-9a-f]{64}$/

/** Adds to `into` the image hashes that `bytes` mention (see `assetsMentionedIn`). */
function assetsMentioned(bytes: Uint8Array, into: Set<string>): void {
  for (const hash of assetsMentionedIn(bytes)) into.add(hash)
}

export interface CollectOptions {
  /** The asset directory (DATA_DIR/assets). */
  dir: string
  store: Store
  /** Images written less than this long ago are kept, mentioned or not. */
  graceMs: number
  now?: number
}

export interface CollectResult {
  /** Images deleted, and their bytes. */
  deleted: number
  freedBytes: number
  /** Images kept. */
  kept: number
}

export async function collectUnusedAssets(options: CollectOptions): Promise<CollectResult> {
  const now = options.now ?? Date.now()
  const dir = path.resolve(options.dir)
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  const candidates: Array<{ hash: string; size: number; mtimeMs: number }> = []
  let files = 0
  for (const entry of entries) {
    if (!entry.isFile() || !HASH.test(entry.name)) continue
    files++
    const stat = await fsp.stat(path.join(dir, entry.name)).catch(() => null)
    if (stat && now - stat.mtimeMs >= options.graceMs) candidates.push({ hash: entry.name, size: stat.size, mtimeMs: stat.mtimeMs })
  }
  if (candidates.length === 0) return { deleted: 0, freedBytes: 0, kept: files }

  const mentioned = new Set<string>()
  const { catalog } = options.store
  // Every room with a log (a new board reaches the catalog with its first version) and
  // every board the catalog knows, read raw: log entries and stored versions (keyframes
  // and diffs together hold every version's content), without touching a loaded room.
  const rooms = new Set([...(await catalog.storedRooms()), ...(await catalog.boards()).map((b) => b.roomId)])
  for (const roomId of rooms) {
    for (const entry of await catalog.logEntries(roomId)) assetsMentioned(entry, mentioned)
    for (const data of await catalog.versionData(roomId)) assetsMentioned(data, mentioned)
    // One board at a time, so rooms keep their turn while a big store is read.
    await nextTurn()
  }

  let deleted = 0
  let freedBytes = 0
  for (const { hash, size, mtimeMs } of candidates) {
    if (mentioned.has(hash)) continue
    const file = path.join(dir, hash)
    // Uploaded again while we read (an upload renames onto the same name): keep it.
    const stat = await fsp.stat(file).catch(() => null)
    if (!stat || stat.mtimeMs !== mtimeMs) continue
    await fsp.rm(file, { force: true })
    deleted++
    freedBytes += size
  }
  return { deleted, freedBytes, kept: files - deleted }
}

export interface AssetSweepStats {
  sweeps: number
  deleted: number
  freedBytes: number
}

/**
 * Runs `collectUnusedAssets` every `intervalMs` (one at a time; a failed sweep is logged
 * and the next one tries again). Counts what it deleted, for /metrics.
 */
export function scheduleAssetSweeps(options: CollectOptions & { intervalMs: number; log: Logger; onDeleted?: () => void }): {
  stats: AssetSweepStats
  sweepNow(): Promise<CollectResult>
  stop(): void
} {
  const stats: AssetSweepStats = { sweeps: 0, deleted: 0, freedBytes: 0 }
  let running: Promise<CollectResult> | null = null
  const sweepNow = () =>
    (running ??= collectUnusedAssets({ ...options, now: undefined })
      .then((result) => {
        stats.sweeps++
        stats.deleted += result.deleted
        stats.freedBytes += result.freedBytes
        if (result.deleted > 0) {
          options.onDeleted?.()
          options.log.info(result, 'deleted images no board or version uses')
        }
        return result
      })
      .finally(() => {
        running = null
      }))
  const timer = setInterval(() => {
    sweepNow().catch((err: unknown) => options.log.warn({ err }, 'could not sweep unused images; the next sweep tries again'))
  }, options.intervalMs)
  timer.unref()
  return { stats, sweepNow, stop: () => clearInterval(timer) }
}
