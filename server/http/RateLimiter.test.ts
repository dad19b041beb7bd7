import { expect, test } from 'vitest'
import { RateLimiter } from './RateLimiter'

test('[S71] a budget is a rolling window: what was spent comes back as the window moves on, not all at once at its edge', () => {
  let now = 10 * 3_600_000
  const hour = new RateLimiter(1000, 3_600_000, () => now)
  expect(hour.take('a', 1000)).toBe(true)
  expect(hour.allows('a', 1)).toBe(false)
  expect(hour.allows('b', 1000)).toBe(true)
  // A fixed window would forgive everything at the next hour; a rolling one only what left it.
  now += 3_600_000
  expect(hour.allows('a', 1)).toBe(false)
  now += 900_000
  expect(hour.used('a')).toBe(750)
  expect(hour.allows('a', 250)).toBe(true)
  expect(hour.allows('a', 251)).toBe(false)
  // Refused spending still counts, so a flood stays refused.
  expect(hour.take('a', 500)).toBe(false)
  now += 3 * 3_600_000
  expect(hour.used('a')).toBe(0)
})
