import { expect, test } from 'vitest'
import type { VersionInfo } from '../storage/Store'
import { parseRetention, versionsToDrop } from './retention'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const policy = { keepAllMs: DAY, hourlyForMs: 30 * DAY, maxBytes: 1_000_000 }

/** Versions every `everyMs` going back `spanMs` from `now`, newest first. */
function history(now: number, spanMs: number, everyMs: number, extra: Partial<VersionInfo> = {}): VersionInfo[] {
  const out: VersionInfo[] = []
  for (let at = now; at > now - spanMs; at -= everyMs) {
    out.push({ id: `v${at}`, createdAt: at, reason: 'quiet', name: null, shapes: 1, bytes: 100, storedBytes: 10, editors: [], ...extra })
  }
  return out
}

test('[S95] every version of the last day, one an hour for 30 days, one a day after; the newest always', () => {
  const now = Date.UTC(2026, 11, 1, 12)
  const versions = history(now, 60 * DAY, 10 * 60_000)
  const doomed = new Set(versionsToDrop(versions, now, policy))
  const kept = versions.filter((v) => !doomed.has(v.id))
  const age = (v: VersionInfo) => now - v.createdAt
  expect(kept.filter((v) => age(v) < DAY)).toHaveLength(versions.filter((v) => age(v) < DAY).length)
  const hourly = kept.filter((v) => age(v) >= DAY && age(v) < 30 * DAY)
  expect(new Set(hourly.map((v) => Math.floor(v.createdAt / HOUR))).size).toBe(hourly.length)
  expect(hourly.length).toBeGreaterThan(28 * 24)
  const daily = kept.filter((v) => age(v) >= 30 * DAY)
  expect(new Set(daily.map((v) => Math.floor(v.createdAt / DAY))).size).toBe(daily.length)
  expect(daily.length).toBeGreaterThanOrEqual(29)
  expect(doomed.has(versions[0]!.id)).toBe(false)
})

test('named versions are kept for ever; a byte budget drops the oldest unnamed first, never the newest', () => {
  const now = Date.UTC(2026, 11, 1)
  const versions = history(now, 10 * HOUR, HOUR, { storedBytes: 300 })
  versions[9] = { ...versions[9]!, name: 'Launch' }
  const doomed = versionsToDrop(versions, now, { keepAllMs: DAY, hourlyForMs: 30 * DAY, maxBytes: 1000 })
  expect(doomed).not.toContain(versions[0]!.id)
  expect(doomed).not.toContain(versions[9]!.id)
  expect(doomed).toEqual(
    versions
      .slice(2, 9)
      .map((v) => v.id)
      .reverse()
      .sort()
      .reverse(),
  )
  // The newest alone over the budget still stays.
  expect(versionsToDrop(history(now, HOUR, HOUR, { storedBytes: 5000 }), now, { ...policy, maxBytes: 10 })).toEqual([])
})

test('VERSION_RETENTION reads two durations', () => {
  expect(parseRetention('24h,30d')).toEqual({ keepAllMs: DAY, hourlyForMs: 30 * DAY })
  expect(parseRetention('90m, 7d')).toEqual({ keepAllMs: 90 * 60_000, hourlyForMs: 7 * DAY })
  for (const bad of ['', '24h', '30d,24h', 'soon,later', '24h,30d,1y']) expect(parseRetention(bad)).toBeNull()
})
