import type * as Y from 'yjs'
import { BOARD_DELETED_MESSAGE } from '../../lib/links'
import { CloseCode } from '../../lib/protocol'
import { SyncError } from '../errors'
import { type AwarenessEntry, encodePermissionDenied, encodeStatus, parseMessage } from '../protocol/messages'
import { checkUpdateV1 } from '../protocol/updates'
import type { AwarenessTable } from './AwarenessTable'
import type { BoardHistory, HistoryHost } from './BoardHistory'
import { BoardStanding } from './BoardStanding'
import { type Outbox, UNSAVED_REASON } from './Outbox'
import type { Peer } from './Peer'
import type { RoomDocument } from './RoomDocument'
import { roomParts } from './roomParts'
import { RoomReplica } from './RoomReplica'
import type { BoardInfo } from '../storage/Store'
import type { RoomOptions } from './types'
import { type Relay, TooManyRefused, type UpdateIntake } from './UpdateIntake'

export type { RoomLimits, RoomOptions, RoomReplication } from './types'

/**
 * loading → ready → unloading → closed, and ready ⇄ paused while the store refuses
 * appends (a room that cannot be loaded is discarded, never served). Only a ready room
 * takes joiners and changes. A paused room keeps its connections and cursors, refuses
 * joiners and changes, and keeps what it could not store until the store takes it: it is
 * never unloaded in between.
 */
export type RoomState = 'loading' | 'ready' | 'paused' | 'unloading' | 'closed'

/** What a joiner or a writer of a paused room is told. */
const PAUSED_REASON = 'this board cannot be saved right now; your changes are kept in your browser, try again shortly'

/**
 * One board: its document, the awareness of everyone in it, and their connections.
 *
 * A frame from a peer goes to the update intake (checked, applied, maybe reverted or
 * held back) or the awareness table; what they accept is queued in the outbox, which the
 * FlushScheduler flushes: stored first, then sent to every peer but its sender.
 *
 * @example
 * const room = new Room('abc', options)
 * await room.load()
 * room.join(peer)
 * room.receive(peer, frame)
 */
export class Room {
  private roomState: RoomState = 'loading'
  private readonly peers = new Set<Peer>()
  private readonly document: RoomDocument
  private readonly intake: UpdateIntake
  private readonly awareness: AwarenessTable
  private readonly outbox: Outbox
  /** Versions and restores; absent for rooms without a version policy (tests, plain Yjs rooms). */
  readonly history: BoardHistory | null
  /** What other instances do to this room over the bus. */
  readonly replica: RoomReplica
  /** Its link generation and whether it is in the trash, as the catalog last said. */
  private readonly standing = new BoardStanding()

  readonly tag: string

  constructor(
    readonly id: string,
    private readonly options: RoomOptions,
  ) {
    this.tag = options.tag
    ;({
      document: this.document,
      outbox: this.outbox,
      intake: this.intake,
      history: this.history,
      awareness: this.awareness,
    } = roomParts(id, options, {
      room: this,
      peers: this.peers,
      isReady: () => this.roomState === 'ready',
      canSnapshot: () => this.roomState !== 'paused',
      pause: (senders) => this.pause(senders),
      resume: () => this.resume(),
      requestFlush: () => this.requestFlush(),
      settle: () => this.settle(),
      applyLocal: (change) => this.applyLocal(change),
    }))
    const { document, intake, outbox, awareness } = this
    this.replica = new RoomReplica(
      { document, intake, outbox, awareness },
      {
        isLive: () => this.roomState === 'ready' || this.roomState === 'paused',
        requestFlush: () => this.requestFlush(),
        announce: (status) => this.announce(status),
      },
    )
  }

  get state(): RoomState {
    return this.roomState
  }

  /** The room's Y.Doc, brought back to life first if the room was dormant. */
  get doc(): Y.Doc {
    return this.document.doc
  }

  get isDormant(): boolean {
    return this.document.isDormant
  }

  /** In the trash, as the catalog said when the room last read it. */
  get isDeleted(): boolean {
    return this.standing.deleted
  }

  get connections(): ReadonlySet<Peer> {
    return this.peers
  }

  /** Awareness client ids the room holds (present and recently gone): what its memory for cursors grows with. */
  get awarenessClients(): number {
    return this.awareness.size
  }

  /** Reads the room from the store. Throws (and the room must be discarded) if it cannot. */
  async load(): Promise<void> {
    const { store, log } = this.options
    const board = await store.catalog.board(this.id)
    if (board?.deletedAt != null) throw new SyncError('gone', BOARD_DELETED_MESSAGE)
    this.standing.update(board, this.peers)
    const stored = await store.load(this.id)
    if (stored) {
      this.document.loadStored(stored.update)
      this.outbox.loaded(stored.entries, stored.bytes)
      // Only a board that exists is noted: visiting a mistyped link stores nothing.
      store.catalog
        .noteBoard(this.id, { openedAt: Date.now() })
        .catch((err: unknown) => log.warn({ err }, 'could not note that the board was opened'))
    }
    this.roomState = 'ready'
  }

  /** Adds a connection and starts the sync handshake with it. */
  join(peer: Peer): void {
    this.standing.admit(peer)
    if (this.roomState === 'paused') throw new SyncError('storeFailed', PAUSED_REASON)
    const { maxConnections } = this.options.limits
    if (this.peers.size >= maxConnections) {
      throw new SyncError('limit', `this board is full: ${maxConnections} people are connected`)
    }
    this.peers.add(peer)
    peer.send(this.document.stateVectorFrame())
    const awareness = this.awareness.frame()
    if (awareness) peer.send(awareness)
    // A joined room saves (a paused one refuses joiners): a client back after a 1011 learns it at once.
    if (peer.wantsStatus) peer.send(encodeStatus({ saving: 'ok' }))
  }

  /**
   * Reads the board's catalog row again and acts on what changed since the room loaded:
   * links reset (connections that came with an older link are closed with 4401), moved to
   * the trash (everyone is closed with 4410 and nobody may join) or back out of it. Called
   * before a link's connection joins, and when this or another instance changed the row.
   */
  async refreshBoard(): Promise<void> {
    this.applyBoard(await this.options.store.catalog.board(this.id))
  }

  /** Acts on the board's catalog row as just read (null: it has none), as `refreshBoard` does. */
  applyBoard(board: BoardInfo | null): void {
    this.standing.update(board, this.peers)
  }

  /**
   * The store refused an update: nothing unsaved goes out or to joiners. The connected
   * senders of unsaved updates are closed with 1011, so their clients keep the changes and
   * resend them when they reconnect; everyone else is told saving is paused.
   */
  private pause(senders: Array<Peer | null>): void {
    if (this.roomState !== 'ready' && this.roomState !== 'unloading') return
    this.roomState = 'paused'
    for (const sender of new Set(senders)) if (sender && this.peers.has(sender)) sender.close(CloseCode.InternalError, UNSAVED_REASON)
    this.announce({ saving: 'paused' })
  }

  private resume(): void {
    if (this.roomState !== 'paused') return
    this.roomState = 'ready'
    this.announce({ saving: 'ok' })
  }

  private announce(status: Parameters<typeof encodeStatus>[0]): void {
    const frame = encodeStatus(status)
    for (const peer of this.peers) if (peer.wantsStatus) peer.send(frame)
  }

  /** Removes a connection; the awareness states it spoke for are announced as gone. */
  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return
    this.awareness.leave(peer)
    this.requestFlush()
  }

  /**
   * Handles one binary frame. Returns false when it changed nothing at all (an echo of
   * known awareness), which the rate limiter does not count. Throws SyncError for
   * malformed input; the caller closes `peer`.
   */
  receive(peer: Peer, frame: Uint8Array): boolean {
    const message = parseMessage(frame)
    switch (message.type) {
      case 'sync-step1':
        peer.handshakeDone()
        // A joiner's answer holds nothing the room has not stored: it waits for the store.
        this.outbox.whenStored(() => {
          const answer = this.document.answerStep1(message.stateVector)
          return () => peer.send(answer)
        })
        return true
      case 'sync-step2':
      case 'sync-update':
        if (peer.readOnly) this.refuseWrite(peer, message.update)
        else if (this.roomState === 'paused') this.refuseWhilePaused(peer, message.update)
        else this.applyUpdate(peer, message.update)
        return true
      case 'awareness':
        return this.applyAwareness(peer, message.entries) || message.entries.length === 0
      case 'query-awareness': {
        const frame = this.awareness.frame()
        if (frame) peer.send(frame)
        return true
      }
      case 'auth':
      case 'unknown':
        return true
    }
  }

  /**
   * A view-only connection's write: never applied, relayed or stored. The client is told
   * once (y-websocket's permission-denied message) and keeps reading.
   */
  private refuseWrite(peer: Peer, update: Uint8Array): void {
    // Every client answers our sync step 1 with its own (usually empty) step 2: not a write.
    if (checkUpdateV1(update).empty || !peer.firstDeniedWrite()) return
    peer.send(encodePermissionDenied('this is a view-only link: changes are not saved'))
    this.options.log.info({ conn: peer.id }, 'refused a write from a view-only connection')
  }

  /** A change while the store refuses appends: not applied; its sender keeps it and resends later. */
  private refuseWhilePaused(peer: Peer, update: Uint8Array): void {
    if (checkUpdateV1(update).empty) return
    peer.close(CloseCode.InternalError, PAUSED_REASON)
  }

  private applyUpdate(peer: Peer, update: Uint8Array): void {
    let relays
    try {
      relays = this.intake.apply(peer, update)
    } catch (err) {
      // What the sender did change validly still goes out before it is closed.
      if (err instanceof TooManyRefused) for (const relay of err.relays) this.queue(relay)
      throw err
    }
    if (relays.length === 0) return
    for (const relay of relays) this.queue(relay)
    this.history?.changed(this.awareness.nameOf(peer))
  }

  /** The server's own change to the board (a restore): checked, stored and sent like anyone's. */
  private applyLocal(change: Parameters<HistoryHost['applyLocal']>[0]): void {
    if (this.roomState !== 'ready') throw new SyncError('storeFailed', PAUSED_REASON)
    const watcher = this.document.watcher
    if (!watcher) throw new SyncError('malformed', 'this room holds no board')
    const relay = this.intake.applyLocal(() => change(watcher.records, watcher.meta))
    if (relay) this.queue(relay)
  }

  /**
   * Tells everyone who asked for Status messages that a version was restored, here and on
   * the other instances that have this room loaded.
   */
  announceRestore(by: string | null, versionCreatedAt: number): void {
    this.announce({ restored: { by, versionCreatedAt } })
    this.options.replicate?.restored?.(this, { by, versionCreatedAt })
  }

  private queue(relay: Relay): void {
    this.outbox.queueUpdate(relay)
    this.requestFlush()
  }

  private applyAwareness(from: Peer | null, entries: AwarenessEntry[]): boolean {
    const changed = this.awareness.apply(from, entries)
    if (changed) this.requestFlush()
    return changed
  }

  /**
   * Idle rooms keep only their encoded state, deflated (a Y.Doc takes several times its
   * encoded size in memory). Called by the server's housekeeping; a no-op unless the
   * document has been still for `afterMs` and nothing is in flight. Returns the size of
   * the encoded state of a room it put to sleep (its Y.Doc is garbage now), else 0.
   */
  sleepIfIdle(now: number, afterMs: number): number {
    if (this.document.isDormant || this.roomState !== 'ready' || !this.document.quietSince(now, afterMs)) return 0
    if (!this.outbox.idle || this.intake.waiting || this.document.hasIncomplete()) return 0
    const state = this.document.sleep()
    if (this.outbox.entries > 1) this.outbox.compactTo(state)
    return state.length
  }

  private requestFlush(): void {
    this.options.requestFlush(this)
  }

  /** Stores and sends what was queued. Flushes run one after another. */
  flush(): Promise<void> {
    return this.outbox.flush()
  }

  /** Waits for everything received so far to be stored. */
  async settle(): Promise<void> {
    await this.outbox.flush()
  }

  /**
   * Flushes, compacts and frees the room; the caller has checked that nobody is in it.
   * Returns false, and the room stays (paused, retrying), when the store will not take
   * what it holds: a room never drops changes it has not stored. `force` (shutdown) tries
   * once more and closes anyway, saying what it could not save.
   */
  async unload(options: { force?: boolean } = {}): Promise<boolean> {
    if (this.roomState === 'paused' && !options.force) return false
    const wasPaused = this.roomState === 'paused'
    this.roomState = 'unloading'
    await this.outbox.flush()
    // The last person left: a version of what they did, before the log is compacted. A
    // board in the trash writes nothing more to its catalog: it may be purged next.
    if (this.standing.deleted) await this.history?.stop()
    else if (!this.outbox.paused) await this.history?.finish()
    if (this.outbox.paused && !(await this.outbox.retryNow())) {
      if (!options.force) {
        this.roomState = 'paused'
        return false
      }
      this.options.log.error(
        { unsaved: this.outbox.unsavedCount },
        'closing with changes the store would not take; the people who made them still hold them and resend them when they reconnect',
      )
    }
    try {
      if (!this.standing.deleted) await this.outbox.compact()
    } catch (err) {
      this.options.monitor?.compactFailed()
      this.options.log.error({ err, wasPaused }, 'compaction at unload failed; the log stays as it was')
    } finally {
      this.roomState = 'closed'
      this.outbox.stop()
      this.intake.stop()
      // Kept (destroyed) so late readers of `doc` do not look at a dormant room.
      this.document.destroy()
    }
    return true
  }

  /** A room that failed to load: free what it holds. */
  discard(): void {
    this.document.destroy()
  }
}
