/**
 * Which versions of a board to keep: pure, so it can be read and tested on its own.
 *
 * Every version younger than `keepAllMs`; then the newest of each hour until
 * `hourlyForMs`; then the newest of each day. Named versions are kept for ever, and the
 * newest version always. Past that, a board may keep `maxBytes` of versions: the oldest
 * unnamed ones go first.
 */
import type { VersionInfo } from '../storage/Store'

export interface RetentionPolicy {
  keepAllMs: number
  hourlyForMs: number
  /** Bytes of stored versions one board may keep. */
  maxBytes: number
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/**
 * The ids to delete from `versions` (newest first), as of `now`.
 *
 * @example
 * const doomed = versionsToDrop(await catalog.versions(roomId), Date.now(), policy)
 * await catalog.deleteVersions(roomId, doomed)
 */
export function versionsToDrop(versions: VersionInfo[], now: number, policy: RetentionPolicy): string[] {
  const keep = new Set<string>()
  const seenBuckets = new Set<string>()
  versions.forEach((v, i) => {
    const age = now - v.createdAt
    if (i === 0 || v.name !== null || age < policy.keepAllMs) return void keep.add(v.id)
    // Newest first: the first version met in a bucket is the bucket's newest.
    const bucket = age < policy.hourlyForMs ? `h${Math.floor(v.createdAt / HOUR)}` : `d${Math.floor(v.createdAt / DAY)}`
    if (seenBuckets.has(bucket)) return
    seenBuckets.add(bucket)
    keep.add(v.id)
  })
  let bytes = 0
  for (const v of versions) if (keep.has(v.id)) bytes += v.storedBytes
  // Over the budget: the oldest unnamed versions go (never the newest).
  for (let i = versions.length - 1; i > 0 && bytes > policy.maxBytes; i--) {
    const v = versions[i]!
    if (!keep.has(v.id) || v.name !== null) continue
    keep.delete(v.id)
    bytes -= v.storedBytes
  }
  return versions.filter((v) => !keep.has(v.id)).map((v) => v.id)
}

/**
 * Reads `VERSION_RETENTION`: `<keep all>,<hourly until>` as durations (`24h,30d`); after
 * the second, one a day.
 */
export function parseRetention(text: string): { keepAllMs: number; hourlyForMs: number } | null {
  const parts = text.split(',').map((p) => p.trim())
  if (parts.length !== 2) return null
  const [all, hourly] = parts.map(durationMs)
  if (all === null || hourly === null || all === undefined || hourly === undefined || hourly < all) return null
  return { keepAllMs: all, hourlyForMs: hourly }
}

function durationMs(text: string): number | null {
  const match = /^(\d+)(m|h|d)$/.exec(text)
  if (!match) return null
  return Number(match[1]) * { m: 60_000, h: HOUR, d: DAY }[match[2] as 'm' | 'h' | 'd']
}
