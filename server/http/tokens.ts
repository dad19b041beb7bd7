import crypto from 'node:crypto'
import { TOKEN_PATTERN } from '../../lib/links'

/** What a link grants. */
export type AccessMode = 'view' | 'edit'

export interface Grant {
  roomId: string
  mode: AccessMode
  /** Epoch milliseconds, or null for a link that does not expire. */
  expiresAt: number | null
}

export const TokenProblem = {
  malformed: 'this link is not valid',
  forged: 'this link is not valid',
  expired: 'this link has expired',
} as const
export type TokenProblem = keyof typeof TokenProblem

export class TokenError extends Error {
  override readonly name = 'TokenError'
  constructor(readonly problem: TokenProblem) {
    super(TokenProblem[problem])
  }
}

const MAC_BYTES = 16

/**
 * Signs and checks link tokens. A token carries its room id encrypted (AES-256-CTR), because
 * the room id is itself the edit capability: a view link must not reveal it. The whole token
 * is authenticated with HMAC-SHA256 (encrypt-then-MAC), so it cannot be turned into an edit
 * token, moved to another room or have its expiry changed. The IV is derived from the
 * content, so the same grant always gives the same token (a board has one view link).
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

  sign(grant: Grant): string {
    const payload = Buffer.from(JSON.stringify({ r: grant.roomId, m: grant.mode === 'view' ? 'v' : 'e', x: grant.expiresAt }))
    const iv = crypto.createHmac('sha256', this.ivKey).update(payload).digest().subarray(0, 16)
    const cipher = crypto.createCipheriv('aes-256-ctr', this.encKey, iv)
    const body = Buffer.concat([iv, cipher.update(payload), cipher.final()])
    return `${body.toString('base64url')}.${this.mac(body).toString('base64url')}`
  }

  /** The grant in a token, or throws TokenError('malformed' | 'forged' | 'expired'). */
  verify(token: string): Grant {
    if (!TOKEN_PATTERN.test(token)) throw new TokenError('malformed')
    const [bodyText, macText] = token.split('.') as [string, string]
    const body = Buffer.from(bodyText, 'base64url')
    const mac = Buffer.from(macText, 'base64url')
    if (body.length <= 16 || mac.length !== MAC_BYTES || !crypto.timingSafeEqual(mac, this.mac(body))) {
      throw new TokenError('forged')
    }
    const decipher = crypto.createDecipheriv('aes-256-ctr', this.encKey, body.subarray(0, 16))
    const payload = Buffer.concat([decipher.update(body.subarray(16)), decipher.final()])
    let parsed: { r?: unknown; m?: unknown; x?: unknown }
    try {
      parsed = JSON.parse(payload.toString('utf8')) as typeof parsed
    } catch {
      throw new TokenError('malformed')
    }
    if (typeof parsed.r !== 'string' || (parsed.m !== 'v' && parsed.m !== 'e')) throw new TokenError('malformed')
    const expiresAt = typeof parsed.x === 'number' ? parsed.x : null
    if (expiresAt !== null && expiresAt <= this.now()) throw new TokenError('expired')
    return { roomId: parsed.r, mode: parsed.m === 'v' ? 'view' : 'edit', expiresAt }
  }

  private mac(body: Buffer): Buffer {
    return crypto.createHmac('sha256', this.macKey).update(body).digest().subarray(0, MAC_BYTES)
  }
}

/** Parses a duration like `7d`, `12h`, `30m`, `90s` into milliseconds; null if it is not one. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)\s*(d|h|m|s)$/.exec(text.trim())
  if (!match) return null
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[match[2] as 'd' | 'h' | 'm' | 's']
  const ms = Number(match[1]) * unit
  return ms > 0 ? ms : null
}
