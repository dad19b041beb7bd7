import crypto from 'node:crypto'
import { LINK_RESET_MESSAGE, TOKEN_PATTERN } from '../../lib/links'
import { ROOM_ID_PATTERN } from '../../lib/roomId'

/** What a link grants. */
export type AccessMode = 'view' | 'edit'

export interface Grant {
  roomId: string
  mode: AccessMode
  /** Epoch milliseconds, or null for a link that does not expire. */
  expiresAt: number | null
  /**
   * The board's link generation when the link was made (0 before any reset, and for links
   * made before generations existed). "Reset links" bumps the board's generation; a link of
   * an older one no longer opens the board.
   */
  generation?: number
}

export const TokenProblem = {
  malformed: 'this link is not valid',
  forged: 'this link is not valid',
  expired: 'this link has expired',
  revoked: LINK_RESET_MESSAGE,
} as const
export type TokenProblem = keyof typeof TokenProblem

export class TokenError extends Error {
  override readonly name = 'TokenError'
  constructor(readonly problem: TokenProblem) {
    super(TokenProblem[problem])
  }
}

/** The longest a link may live: ten years. Longer, or not a finite number, is refused when signing. */
export const MAX_TTL_MS = 3650 * 86_400_000

const IV_BYTES = 16
const MAC_BYTES = 16
const FORMAT_V1 = 0x01
const FORMAT_V2 = 0x02
const MODE_BYTE = { view: 0x01, edit: 0x02 } as const
const MAX_ROOM_CHARS = 128
/** The largest link generation a token can carry (a uint32). */
export const MAX_LINK_GENERATION = 0xffff_ffff
/** A room id is base64url characters: 6 bits each, 128 of them in 96 bytes. */
const ROOM_FIELD_BYTES = (MAX_ROOM_CHARS * 6) / 8
/** v1: version, mode, expiry (48-bit ms, 0: none), room id length, room id padded to the longest. */
const V1_BYTES = 1 + 1 + 6 + 1 + ROOM_FIELD_BYTES
/** v2: as v1, with the link generation (uint32) after the expiry. */
const V2_BYTES = 1 + 1 + 6 + 4 + 1 + ROOM_FIELD_BYTES
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * The room id in a fixed-size field, so every token has the same length whatever the
 * room id's (1–128 characters): a token's length says nothing about the id it hides.
 */
function packRoomId(roomId: string, into: Buffer, at: number): void {
  let acc = 0
  let bits = 0
  let out = at
  for (let i = 0; i < MAX_ROOM_CHARS; i++) {
    acc = (acc << 6) | (i < roomId.length ? ALPHABET.indexOf(roomId[i]!) : 0)
    bits += 6
    while (bits >= 8) {
      bits -= 8
      into[out++] = (acc >> bits) & 0xff
    }
    acc &= (1 << bits) - 1
  }
}

function unpackRoomId(from: Buffer, at: number, length: number): string {
  let acc = 0
  let bits = 0
  let id = ''
  for (let i = at; id.length < length; i++) {
    acc = (acc << 8) | from[i]!
    bits += 8
    while (bits >= 6 && id.length < length) {
      bits -= 6
      id += ALPHABET[(acc >> bits) & 0x3f]
    }
    acc &= (1 << bits) - 1
  }
  return id
}

/** Base64url that only one text spells: Node's decoder ignores a last character's unused bits, so compare. */
function decodeCanonical(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : null
}

/**
 * Signs and checks link tokens. A token carries its room id encrypted (AES-256-CTR), because
 * the room id is itself the edit capability: a view link must not reveal it, not even its
 * length (the id is padded to the longest). The whole token is authenticated with
 * HMAC-SHA256 (encrypt-then-MAC), so it cannot be turned into an edit token, moved to
 * another room or have its expiry changed, and only one spelling of it verifies. The IV is
 * derived from the content, so the same grant always gives the same token (a board has one
 * view link).
 *
 * Tokens signed before padding (their plaintext is JSON) or before link generations (v1)
 * still verify, as generation 0.
 *
 * @example
 * const signer = new TokenSigner(secret)
 * const token = signer.sign({ roomId, mode: 'view', expiresAt: null })
 * signer.verify(token) // → { roomId, mode: 'view', expiresAt: null }, or throws TokenError
 */
export class TokenSigner {
  private readonly encKey: Buffer
  private readonly macKey: Buffer
  private readonly ivKey: Buffer

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    if (secret.length < 16) throw new Error('the token secret must be at least 16 characters')
    const derive = (info: string) => Buffer.from(crypto.hkdfSync('sha256', secret, 'sketchroom-links', info, 32))
    this.encKey = derive('encrypt')
    this.macKey = derive('authenticate')
    this.ivKey = derive('iv')
  }

  /** Throws for a room id that is not one, or an expiry that is not a time within ten years. */
  sign(grant: Grant): string {
    if (!ROOM_ID_PATTERN.test(grant.roomId)) throw new Error('cannot sign a link for an invalid room id')
    const { expiresAt } = grant
    if (expiresAt !== null && !(Number.isSafeInteger(expiresAt) && expiresAt > 0 && expiresAt <= this.now() + MAX_TTL_MS)) {
      throw new Error('a link must expire at a whole millisecond within ten years from now')
    }
    const generation = grant.generation ?? 0
    if (!(Number.isSafeInteger(generation) && generation >= 0 && generation <= MAX_LINK_GENERATION)) {
      throw new Error(`a link generation is a whole number from 0 to ${MAX_LINK_GENERATION}`)
    }
    const payload = Buffer.alloc(V2_BYTES)
    payload[0] = FORMAT_V2
    payload[1] = MODE_BYTE[grant.mode]
    payload.writeUIntBE(expiresAt ?? 0, 2, 6)
    payload.writeUInt32BE(generation, 8)
    payload[12] = grant.roomId.length
    packRoomId(grant.roomId, payload, 13)
    const iv = crypto.createHmac('sha256', this.ivKey).update(payload).digest().subarray(0, IV_BYTES)
    const cipher = crypto.createCipheriv('aes-256-ctr', this.encKey, iv)
    const body = Buffer.concat([iv, cipher.update(payload), cipher.final()])
    return `${body.toString('base64url')}.${this.mac(body).toString('base64url')}`
  }

  /** The grant in a token, or throws TokenError('malformed' | 'forged' | 'expired'). */
  verify(token: string): Grant {
    if (!TOKEN_PATTERN.test(token)) throw new TokenError('malformed')
    const [bodyText, macText] = token.split('.') as [string, string]
    const body = decodeCanonical(bodyText)
    const mac = decodeCanonical(macText)
    if (!body || !mac) throw new TokenError('malformed')
    if (body.length <= IV_BYTES || mac.length !== MAC_BYTES || !crypto.timingSafeEqual(mac, this.mac(body))) {
      throw new TokenError('forged')
    }
    const decipher = crypto.createDecipheriv('aes-256-ctr', this.encKey, body.subarray(0, IV_BYTES))
    const payload = Buffer.concat([decipher.update(body.subarray(IV_BYTES)), decipher.final()])
    const grant = payload[0] === FORMAT_V2 ? readV2(payload) : payload[0] === FORMAT_V1 ? readV1(payload) : readLegacy(payload)
    if (grant.expiresAt !== null && grant.expiresAt <= this.now()) throw new TokenError('expired')
    return grant
  }

  private mac(body: Buffer): Buffer {
    return crypto.createHmac('sha256', this.macKey).update(body).digest().subarray(0, MAC_BYTES)
  }
}

/** The fields every binary format shares: mode and expiry up front, the padded room id at `roomAt - 1`. */
function readBinary(payload: Buffer, bytes: number, roomAt: number, generation: number): Grant {
  const length = payload[roomAt - 1]!
  const mode = payload[1] === MODE_BYTE.view ? 'view' : payload[1] === MODE_BYTE.edit ? 'edit' : null
  if (payload.length !== bytes || !mode || length < 1 || length > MAX_ROOM_CHARS) throw new TokenError('malformed')
  const expiry = payload.readUIntBE(2, 6)
  return { roomId: unpackRoomId(payload, roomAt, length), mode, expiresAt: expiry === 0 ? null : expiry, generation }
}

function readV2(payload: Buffer): Grant {
  if (payload.length !== V2_BYTES) throw new TokenError('malformed')
  return readBinary(payload, V2_BYTES, 13, payload.readUInt32BE(8))
}

/** Tokens signed before link generations: generation 0. */
const readV1 = (payload: Buffer): Grant => readBinary(payload, V1_BYTES, 9, 0)

/** Tokens signed before the padded format: JSON `{ r, m, x }`. */
function readLegacy(payload: Buffer): Grant {
  let parsed: { r?: unknown; m?: unknown; x?: unknown }
  try {
    parsed = JSON.parse(payload.toString('utf8')) as typeof parsed
  } catch {
    throw new TokenError('malformed')
  }
  if (typeof parsed.r !== 'string' || (parsed.m !== 'v' && parsed.m !== 'e')) throw new TokenError('malformed')
  const expiresAt = typeof parsed.x === 'number' && Number.isFinite(parsed.x) ? parsed.x : null
  return { roomId: parsed.r, mode: parsed.m === 'v' ? 'view' : 'edit', expiresAt, generation: 0 }
}

/**
 * Parses a duration like `7d`, `12h`, `30m`, `90s` into milliseconds; null if it is not
 * one, or if it is longer than ten years (`MAX_TTL_MS`, `3650d`).
 */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,12})\s*(d|h|m|s)$/.exec(text.trim())
  if (!match) return null
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[match[2] as 'd' | 'h' | 'm' | 's']
  const ms = Number(match[1]) * unit
  return ms > 0 && ms <= MAX_TTL_MS ? ms : null
}
