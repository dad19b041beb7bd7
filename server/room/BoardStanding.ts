/**
 * Where a loaded board stands in the catalog: its link generation (connections that came
 * with a link of an older one are refused and closed with 4401, see Reset links) and
 * whether it is in the trash (everyone is closed with 4410 and nobody may join). The room
 * reads it when it loads and again whenever the catalog row may have changed.
 *
 * @example
 * const standing = new BoardStanding()
 * standing.update(await catalog.board(roomId), peers)
 * standing.admit(peer) // throws SyncError('gone' | 'revoked')
 */
import { BOARD_DELETED_MESSAGE, LINK_RESET_MESSAGE } from '../../lib/links'
import { CloseCode } from '../../lib/protocol'
import { SyncError } from '../errors'
import type { BoardInfo } from '../storage/Store'
import type { Peer } from './Peer'

export class BoardStanding {
  private linkGeneration = 0
  private trashed = false

  /** In the trash, as the catalog last said. */
  get deleted(): boolean {
    return this.trashed
  }

  /** Throws the SyncError that refuses `peer` a seat, if any. */
  admit(peer: Peer): void {
    if (this.trashed) throw new SyncError('gone', BOARD_DELETED_MESSAGE)
    if (peer.linkGeneration !== null && peer.linkGeneration < this.linkGeneration) throw new SyncError('revoked', LINK_RESET_MESSAGE)
  }

  /** Takes the catalog row as just read (null: the board has none) and closes the `peers` it no longer admits. */
  update(board: BoardInfo | null, peers: Iterable<Peer>): void {
    const generation = board?.linkGeneration ?? 0
    const deleted = board?.deletedAt != null
    const revoke = generation > this.linkGeneration
    const trash = deleted && !this.trashed
    this.linkGeneration = Math.max(this.linkGeneration, generation)
    this.trashed = deleted
    if (!revoke && !trash) return
    for (const peer of [...peers]) {
      if (trash) peer.close(CloseCode.Gone, BOARD_DELETED_MESSAGE)
      else if (peer.linkGeneration !== null && peer.linkGeneration < generation) peer.close(CloseCode.Unauthorized, LINK_RESET_MESSAGE)
    }
  }
}
