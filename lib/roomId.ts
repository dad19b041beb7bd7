/**
 * Room ids are the capability of a board link: 1–128 chars of `[A-Za-z0-9_-]`.
 * New ids carry 128 random bits (22 chars of base64url), so they cannot be guessed.
 */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

export function isValidRoomId(value: string): boolean {
  return ROOM_ID_PATTERN.test(value)
}

/** Why a room id was refused, in words for a 400 response, or null when it is valid. */
export function roomIdProblem(value: string): string | null {
  if (value.length === 0) return 'room id is empty'
  if (value.length > 128) return `room id is ${value.length} characters long; the limit is 128`
  if (!ROOM_ID_PATTERN.test(value)) return 'room id may only contain A-Z, a-z, 0-9, "_" and "-"'
  return null
}

/**
 * A fresh 128-bit room id, base64url without padding (22 chars), never starting with `-`:
 * command lines (`npm run boards -- show <id>`) would read such an id as an option.
 */
export function newRoomId(): string {
  for (;;) {
    const bytes = new Uint8Array(16)
    crypto.getRandomValues(bytes)
    let binary = ''
    for (const b of bytes) binary += String.fromCharCode(b)
    const id = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    if (!id.startsWith('-')) return id
  }
}
