import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { ROOT, tempDir } from '../../test/helpers'
import { MAX_LINK_GENERATION, MAX_TTL_MS, parseDuration, TokenError, TokenSigner } from './tokens'

const SECRET = 'a-test-secret-that-is-long-enough'
const ROOM = 'Abcdefghijklmnopqrstuv'
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Other spellings of a base64url text's last character that Node decodes to the same bytes. */
function sameBytesSpellings(text: string): string[] {
  const bytes = Buffer.from(text, 'base64url')
  return [...ALPHABET].map((c) => text.slice(0, -1) + c).filter((t) => t !== text && Buffer.from(t, 'base64url').equals(bytes))
}

describe('link tokens', () => {
  test('[S81] only the canonical spelling of a token verifies: a changed last character is refused', () => {
    const signer = new TokenSigner(SECRET)
    const token = signer.sign({ roomId: ROOM, mode: 'view', expiresAt: null })
    const [body, mac] = token.split('.') as [string, string]
    const variants = [...sameBytesSpellings(body).map((b) => `${b}.${mac}`), ...sameBytesSpellings(mac).map((m) => `${body}.${m}`)]
    // Both parts end in a character with unused bits, so there are variants to try.
    expect(variants.length).toBeGreaterThan(4)
    for (const variant of variants) {
      expect(() => signer.verify(variant), variant).toThrow(TokenError)
    }
    expect(signer.verify(token).roomId).toBe(ROOM)
  })

  test('[S82] a link lives at most ten years: longer, non-finite or absurd lifetimes are refused, by parseDuration, sign and npm run token', () => {
    expect(parseDuration('3650d')).toBe(MAX_TTL_MS)
    expect(parseDuration('7d')).toBe(7 * 86_400_000)
    for (const text of ['3651d', '87601h', `${'9'.repeat(400)}d`, '99999999999999999999s', '0s', '-1d', '1e3d', 'Infinityd']) {
      expect(parseDuration(text), text).toBeNull()
    }
    const now = 1_700_000_000_000
    const signer = new TokenSigner(SECRET, () => now)
    for (const expiresAt of [Infinity, NaN, now + MAX_TTL_MS + 1, 1.5, -5, 2 ** 60]) {
      expect(() => signer.sign({ roomId: ROOM, mode: 'view', expiresAt }), String(expiresAt)).toThrow(/ten years/)
    }
    expect(signer.verify(signer.sign({ roomId: ROOM, mode: 'edit', expiresAt: now + MAX_TTL_MS })).expiresAt).toBe(now + MAX_TTL_MS)

    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), '--room', ROOM, '--mode', 'view', '--ttl', `${'9'.repeat(330)}d`],
      { cwd: ROOT, env: { ...process.env, AUTH_SECRET: SECRET, DATA_DIR: tempDir() }, encoding: 'utf8' },
    )
    expect(cli.status).toBe(2)
    expect(cli.stdout).toBe('')
    expect(cli.stderr).toMatch(/at most 3650d/)
  })

  test('[S83] a token is as long for a 1-character room id as for a 128-character one, with or without expiry; older tokens still verify', () => {
    const signer = new TokenSigner(SECRET, () => 1_700_000_000_000)
    const grants = [
      { roomId: 'a', mode: 'view', expiresAt: null },
      { roomId: ROOM, mode: 'view', expiresAt: null },
      { roomId: 'Z'.repeat(128), mode: 'edit', expiresAt: 1_800_000_000_000 },
      { roomId: '-_'.repeat(40), mode: 'edit', expiresAt: null },
    ] as const
    const tokens = grants.map((g) => signer.sign(g))
    expect(new Set(tokens.map((t) => t.length)).size).toBe(1)
    tokens.forEach((t, i) => expect(signer.verify(t)).toEqual({ ...grants[i], generation: 0 }))
    // Minted by the JSON-payload signer this format replaced, with this secret.
    const legacyView = 'T8O8dO4cq9gDE_4Xi-rBYhTdleIXrHANDi4CeJQ_rs1Ur0tFF1hAJ01Ld3BSeCZHF09OKKQjVC-mALhuJ2p3.bxn5_0VFRgbbDBrjkfkAXg'
    const legacyEdit =
      'f8f709A3--tD2nwRI6bALQ5qQDwKVasJIDAekpsCOrGSusfs2CPK4Hut_BwFIkCRQVn0nV1-IRSI1uI0Ik62G2CEZBxvGxvG.W6ZqkSccQJAjmq6s2vEvgA'
    expect(signer.verify(legacyView)).toEqual({ roomId: ROOM, mode: 'view', expiresAt: null, generation: 0 })
    expect(signer.verify(legacyEdit)).toEqual({ roomId: ROOM, mode: 'edit', expiresAt: 4102444800000, generation: 0 })
    // Padded, before link generations (v1): generation 0.
    const v1View =
      'Jh2ygZz5eYcA5Jhj8-GHxaa0kRM16I0EPdYSM1ksRn00EDCEMUa048GFGk9mHix5QkKrtsSx7N-fVKXBp-nGKRAuwP07Qe7qq8Yu3ZqG5jak6RmLPDi9fi2AhWnRCmRTH33oCGJukk7yuFD5s74zT6uSeydRxidP3A.W0WVjZgtdaVQXw4H_l827w'
    const v1Edit =
      'vwtVkipt3DSl1QshUVyRCij41EP-u98lvUBsvsH1ke20L2ePICMCPrN1kRvNeDJyHaoSkU3OLpcItmVZ_0I-IL6pZSblVD8AczIKkWwc04DwPhLtKfFkj40yuss5AEZpWI51rwzX7OgdwvzddGKpCqPnvmaP8BmAxQ.glSBTivqaKML9ff6tBpUbg'
    expect(signer.verify(v1View)).toEqual({ roomId: ROOM, mode: 'view', expiresAt: null, generation: 0 })
    expect(signer.verify(v1Edit)).toEqual({ roomId: ROOM, mode: 'edit', expiresAt: 1_800_000_000_000, generation: 0 })
  })

  test('[S88] a link carries its board link generation, which cannot be changed; every generation gives a token as long as the others', () => {
    const signer = new TokenSigner(SECRET)
    const tokens = [0, 1, 7, MAX_LINK_GENERATION].map((generation) =>
      signer.sign({ roomId: ROOM, mode: 'view', expiresAt: null, generation }),
    )
    expect(new Set(tokens).size).toBe(4)
    expect(new Set(tokens.map((t) => t.length)).size).toBe(1)
    expect(tokens.map((t) => signer.verify(t).generation)).toEqual([0, 1, 7, MAX_LINK_GENERATION])
    for (const generation of [-1, 1.5, MAX_LINK_GENERATION + 1, Number.NaN]) {
      expect(() => signer.sign({ roomId: ROOM, mode: 'view', expiresAt: null, generation }), String(generation)).toThrow(/generation/)
    }
    // Any bit of the generation field flipped: refused (the MAC covers the ciphertext).
    const [body, mac] = tokens[1]!.split('.') as [string, string]
    const bytes = Buffer.from(body, 'base64url')
    for (let bit = 0; bit < 32; bit++) {
      const changed = Buffer.from(bytes)
      const at = 16 + 8 + (bit >> 3)
      changed[at] = changed[at]! ^ (1 << (bit & 7))
      expect(() => signer.verify(`${changed.toString('base64url')}.${mac}`)).toThrow(TokenError)
    }
  })
})
