import { describe, expect, test } from 'vitest'
import { dayHeading, groupByDay, versionTime } from './versionTime'

// Local times: what a person on this machine's clock would read.
const at = (y: number, mo: number, d: number, h: number, mi: number) => new Date(y, mo - 1, d, h, mi).getTime()
const now = at(2026, 12, 1, 11, 30)

describe('versionTime', () => {
  test('today just the time, 24-hour', () => {
    expect(versionTime(at(2026, 12, 1, 10, 42), now)).toBe('10:42')
    expect(versionTime(at(2026, 12, 1, 0, 5), now)).toBe('00:05')
  })
  test('yesterday, then the date, then the year', () => {
    expect(versionTime(at(2026, 11, 30, 16, 5), now)).toBe('yesterday 16:05')
    expect(versionTime(at(2026, 11, 3, 9, 0), now)).toBe('3 Nov 09:00')
    expect(versionTime(at(2025, 12, 31, 23, 59), now)).toBe('31 Dec 2025 23:59')
  })
  test('day headings', () => {
    expect(dayHeading(at(2026, 12, 1, 1, 0), now)).toBe('Today')
    expect(dayHeading(at(2026, 11, 30, 23, 0), now)).toBe('Yesterday')
    expect(dayHeading(at(2026, 11, 23, 12, 0), now)).toBe('Monday 23 November')
    expect(dayHeading(at(2025, 11, 23, 12, 0), now)).toBe('Sunday 23 November 2025')
  })
  test('groups newest-first versions by day, keeping their order', () => {
    const versions = [at(2026, 12, 1, 11, 0), at(2026, 12, 1, 9, 0), at(2026, 11, 30, 18, 0), at(2026, 11, 28, 8, 0)].map((createdAt) => ({
      createdAt,
    }))
    const groups = groupByDay(versions)
    expect(groups.map((g) => g.versions.length)).toEqual([2, 1, 1])
    expect(groups[0]!.versions[0]!.createdAt).toBe(versions[0]!.createdAt)
  })
})
