import { expect, test } from 'vitest'
import { isValidRoomId, newRoomId } from './roomId'

test('new room ids are 22 base64url characters and never start with "-" (a command line would read it as an option)', () => {
  // One id in 64 would start with "-" by chance: 5,000 draws find it at once if allowed.
  const ids = Array.from({ length: 5000 }, newRoomId)
  for (const id of ids) {
    expect(id).toHaveLength(22)
    expect(isValidRoomId(id)).toBe(true)
    expect(id.startsWith('-'), id).toBe(false)
  }
  expect(new Set(ids).size).toBe(ids.length)
  // The other 63 characters still come first.
  expect(new Set(ids.map((id) => id[0])).size).toBeGreaterThan(55)
})
