/**
 * How the history names a moment: "10:42" today, "yesterday 16:05", "30 Nov 16:05" this
 * year, "30 Nov 2025 16:05" before. Hours and minutes are always 24-hour, two digits, so
 * the banner, the list and the toast say the same thing for the same version.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

const two = (n: number) => String(n).padStart(2, '0')
const clock = (d: Date) => `${two(d.getHours())}:${two(d.getMinutes())}`
const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()

/** Whole local days from `then` to `now` (0: the same day; 1: yesterday). */
function daysAgo(then: Date, now: Date): number {
  return Math.round((startOfDay(now) - startOfDay(then)) / 86_400_000)
}

/** The moment of a version, as the list, the banner and the toast say it. */
export function versionTime(createdAt: number, now: number = Date.now()): string {
  const then = new Date(createdAt)
  const today = new Date(now)
  const days = daysAgo(then, today)
  if (days <= 0) return clock(then)
  if (days === 1) return `yesterday ${clock(then)}`
  const date = `${then.getDate()} ${MONTHS[then.getMonth()]}`
  return then.getFullYear() === today.getFullYear() ? `${date} ${clock(then)}` : `${date} ${then.getFullYear()} ${clock(then)}`
}

/** The heading of a day in the list: "Today", "Yesterday", "Monday 30 November" (with the year if not this one). */
export function dayHeading(createdAt: number, now: number = Date.now()): string {
  const then = new Date(createdAt)
  const today = new Date(now)
  const days = daysAgo(then, today)
  if (days <= 0) return 'Today'
  if (days === 1) return 'Yesterday'
  const long = then.toLocaleDateString('en', { month: 'long' })
  const day = `${WEEKDAYS[then.getDay()]} ${then.getDate()} ${long}`
  return then.getFullYear() === today.getFullYear() ? day : `${day} ${then.getFullYear()}`
}

/** A day's key (local date), to group versions by day. */
export function dayKey(createdAt: number): number {
  return startOfDay(new Date(createdAt))
}

/** Versions, newest first, grouped by local day in that order. */
export function groupByDay<T extends { createdAt: number }>(versions: readonly T[]): Array<{ day: number; versions: T[] }> {
  const groups: Array<{ day: number; versions: T[] }> = []
  for (const version of versions) {
    const day = dayKey(version.createdAt)
    const last = groups.at(-1)
    if (last?.day === day) last.versions.push(version)
    else groups.push({ day, versions: [version] })
  }
  return groups
}
