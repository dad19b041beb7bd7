/**
 * What other instances do to a room, over the bus: updates already stored there (applied
 * and relayed to this instance's peers, not stored again), repairs that may not be
 * (stored here, then relayed), their clients' awareness, restore announcements, and the
 * state vector and diffs anti-entropy compares (a dormant room stays asleep for those).
 * Updates and awareness count only while the room is ready or paused.
 *
 * @example
 * room.replica.applyUpdate(message.update)
 * publish(encodeBusRepair(room.replica.diff(theirVector)))
 */
import type { AwarenessEntry, encodeStatus } from '../protocol/messages'
import type { RoomParts } from './roomParts'

export interface ReplicaHooks {
  /** Ready or paused: the room takes what other instances send. */
  isLive(): boolean
  requestFlush(): void
  announce(status: Parameters<typeof encodeStatus>[0]): void
}

export class RoomReplica {
  constructor(
    private readonly parts: Pick<RoomParts, 'document' | 'intake' | 'outbox' | 'awareness'>,
    private readonly hooks: ReplicaHooks,
  ) {}

  /** An update another instance stored: applied and relayed, not stored again. */
  applyUpdate(update: Uint8Array): void {
    this.take(update, true)
  }

  /** Anti-entropy's answer: its sender may not have stored it, so what it changes is stored here, then relayed. */
  applyRepair(update: Uint8Array): void {
    this.take(update, false)
  }

  /** Checked like anything from the bus; a correction is always stored. */
  private take(update: Uint8Array, storedAlready: boolean): void {
    if (!this.hooks.isLive()) return
    const { changed, correction, ownDeletions } = this.parts.intake.applyRemote(update)
    if (correction) this.parts.outbox.queueUpdate(correction)
    else if (changed) this.parts.outbox.queueUpdate({ update, from: null }, storedAlready)
    else return
    if (ownDeletions) this.parts.outbox.queueUpdate(ownDeletions)
    this.hooks.requestFlush()
  }

  applyAwareness(entries: AwarenessEntry[]): void {
    if (!this.hooks.isLive()) return
    if (this.parts.awareness.apply(null, entries)) this.hooks.requestFlush()
  }

  /** Another instance restored a version: this instance's clients hear it too. */
  applyRestore(event: { by: string | null; versionCreatedAt: number }): void {
    if (!this.hooks.isLive()) return
    this.hooks.announce({ restored: { by: event.by, versionCreatedAt: event.versionCreatedAt } })
  }

  stateVector(): Uint8Array {
    return this.parts.document.stateVector()
  }

  /** What this room has that an instance with `stateVector` lacks. */
  diff(stateVector: Uint8Array): Uint8Array {
    return this.parts.document.diff(stateVector)
  }
}
