/**
 * A board's links, with its link generation: `TokenSigner` says what a token grants,
 * `BoardLinks` also says whether it still does. "Reset links" bumps the board's generation
 * in the catalog; links made before then are refused (as `TokenError('revoked')`) on every
 * route and every instance, while the room id itself, the board's edit key, keeps working.
 *
 * @example
 * const links = new BoardLinks(signer, store.catalog)
 * const token = await links.sign({ roomId, mode: 'view', expiresAt: null })
 * const grant = await links.verify(token)   // throws TokenError('revoked') after:
 * await links.reset(roomId)
 */
import type { BoardCatalog } from '../storage/Store'
import { type Grant, TokenError, type TokenSigner } from './tokens'

export class BoardLinks {
  constructor(
    readonly signer: TokenSigner,
    private readonly catalog: BoardCatalog,
  ) {}

  /** The board's current link generation (0 for a board whose links were never reset). */
  async generation(roomId: string): Promise<number> {
    return (await this.catalog.board(roomId))?.linkGeneration ?? 0
  }

  /** A link of the board's current generation. */
  async sign(grant: Omit<Grant, 'generation'>): Promise<string> {
    return this.signer.sign({ ...grant, generation: await this.generation(grant.roomId) })
  }

  /** The grant, or throws TokenError: malformed, forged, expired, or revoked by a reset. */
  async verify(token: string): Promise<Grant> {
    const grant = this.signer.verify(token)
    if ((grant.generation ?? 0) < (await this.generation(grant.roomId))) throw new TokenError('revoked')
    return grant
  }

  /** Every link of the board made so far stops working; returns the new generation. */
  reset(roomId: string): Promise<number> {
    return this.catalog.bumpLinkGeneration(roomId)
  }
}
