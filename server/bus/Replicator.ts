import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import * as Y from 'yjs'
import {
  BUS_AWARENESS_QUERY,
  BUS_BOARD_CHANGED,
  type BusMessageIn,
  encodeAwarenessPayload,
  encodeBusAwareness,
  encodeBusRestored,
  encodeBusState,
  encodeBusRepair,
  encodeBusUpdate,
  parseBusMessage,
  type StateDigest,
  StateFlag,
} from '../protocol/busMessages'
import { encodeAwarenessRemoval, parseAwarenessUpdate } from '../protocol/messages'
import type { Room, RoomReplication } from '../room/Room'
import type { RoomLifecycle } from '../room/RoomRegistry'
import type { SharedStore } from '../storage/Store'
import type { Bus } from './Bus'

export interface ReplicatorOptions {
  bus: Bus
  /** The shared store, read for what other instances stored that the bus did not carry. */
  store: SharedStore | null
  log: Logger
  /** How often each open room compares state with its peers and the store. */
  antiEntropyIntervalMs: number
  /**
   * A remote client's awareness state not refreshed for this long is removed (clients
   * refresh every 15 s, so an instance that died does not leave its cursors behind).
   */
  remoteAwarenessTimeoutMs: number
}

/** What the replicator keeps per open room. */
interface Link {
  room: Room
  topic: string
  /**
   * Bumped whenever the document may have changed (local updates stored, remote ones
   * applied), to know when the digest is stale. Counted here rather than by listening to
   * the room's Y.Doc, which a dormant room does not keep.
   */
  changes: number
  digest: (StateDigest & { changes: number }) | null
  /** The state vector at the previous periodic check: content older than one interval. */
  settledVector: Map<number, number>
  /** Clients on other instances: when their state last arrived. */
  remoteAwareness: Map<number, { clock: number; seenAt: number }>
  /** This instance's clients' latest entries, to answer a peer's AwarenessQuery. */
  localAwareness: Map<number, Uint8Array>
}

export interface ReplicatorStats {
  published: number
  received: number
  /** Updates sent to a peer because anti-entropy found it behind. */
  repairsSent: number
  /** Catch-ups from the store that brought something new. */
  storeCatchUps: number
  expiredAwareness: number
}

/** The bus topic of a room: every instance that has the room loaded listens to it. */
const topicOf = (roomId: string) => `room:${roomId}`

/**
 * Connects this instance's rooms to the other instances through a Bus: local updates
 * (once stored) and awareness go out, peers' come in and are relayed to local clients.
 *
 * Pub/sub may lose messages (a broker restart, a dropped link), so rooms also heal:
 * - On load, after subscribing, the room reads what was stored since its load (closing
 *   the gap between reading the store and listening) and asks peers for their state.
 * - Every `antiEntropyIntervalMs`, each room publishes its state vector and a digest of
 *   its delete set; a peer that has more answers with the difference, and the room reads
 *   the store for entries other instances appended that never arrived.
 * - When the bus reconnects, every room does the same at once.
 * An Update on the bus is stored already: the receiver relays it without storing it. A
 * Repair (anti-entropy's answer) comes from the sender's document, which may hold edits
 * it has not stored yet and never will if it dies now; the receiver stores what a repair
 * brings before relaying it, so nothing that reached another instance depends on the
 * sender's store.
 *
 * @example
 * const replicator = new Replicator({ bus, store, log, antiEntropyIntervalMs: 5000, remoteAwarenessTimeoutMs: 30_000 })
 * new SyncServer({ ..., replicate: replicator, lifecycle: replicator })
 * replicator.start()
 */
export class Replicator implements RoomReplication, RoomLifecycle {
  readonly stats: ReplicatorStats = { published: 0, received: 0, repairsSent: 0, storeCatchUps: 0, expiredAwareness: 0 }
  private readonly links = new Map<string, Link>()
  private timer: NodeJS.Timeout | null = null
  private ticking = false

  constructor(private readonly options: ReplicatorOptions) {
    options.bus.onReconnect(() => {
      options.log.info({ rooms: this.links.size }, 'bus reconnected; checking every open room with peers and the store')
      for (const link of this.links.values())
        this.healNow(link).catch((err: unknown) => this.failed(link, err, 'healing after a reconnect'))
    })
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.options.log.error({ err }, 'anti-entropy round failed; the next one tries again'))
    }, this.options.antiEntropyIntervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  // --- RoomLifecycle -------------------------------------------------------------------

  async loaded(room: Room): Promise<void> {
    const link: Link = {
      room,
      topic: topicOf(room.id),
      changes: 0,
      digest: null,
      settledVector: new Map(),
      remoteAwareness: new Map(),
      localAwareness: new Map(),
    }
    this.links.set(room.id, link)
    await this.options.bus.subscribe(link.topic, (message, from) => this.receive(link, message, from))
    // Subscribed now: whatever was stored between our load and this moment is in the store.
    await this.catchUpFromStore(link)
    this.publish(link, encodeBusState(this.digest(link), StateFlag.WantReply | StateFlag.Exact))
    this.publish(link, BUS_AWARENESS_QUERY)
  }

  unloaded(room: Room): void {
    const link = this.links.get(room.id)
    if (!link || link.room !== room) return
    this.links.delete(room.id)
    this.options.bus
      .unsubscribe(link.topic)
      .catch((err: unknown) => this.options.log.warn({ err, room: room.tag }, 'bus unsubscribe failed'))
  }

  // --- RoomReplication -----------------------------------------------------------------

  updatesStored(room: Room, updates: Uint8Array[]): void {
    const link = this.linkOf(room)
    if (!link) return
    link.changes++
    const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
    this.publish(link, encodeBusUpdate(update))
  }

  awarenessChanged(room: Room, entries: Uint8Array[]): void {
    const link = this.linkOf(room)
    if (!link) return
    for (const entry of parseAwarenessUpdate(encodeAwarenessPayload(entries))) {
      // The client is here now, whatever another instance said about it before.
      link.remoteAwareness.delete(entry.clientId)
      if (entry.removed) link.localAwareness.delete(entry.clientId)
      else link.localAwareness.set(entry.clientId, entry.bytes)
    }
    this.publish(link, encodeBusAwareness(entries))
  }

  restored(room: Room, event: { by: string | null; versionCreatedAt: number }): void {
    const link = this.linkOf(room)
    if (link) this.publish(link, encodeBusRestored(event))
  }

  boardChanged(roomId: string): void {
    // Whether or not the room is loaded here: the instances that have it are subscribed.
    this.stats.published++
    this.options.bus.publish(topicOf(roomId), BUS_BOARD_CHANGED)
  }

  // --- incoming ------------------------------------------------------------------------

  private receive(link: Link, message: Uint8Array, from: string): void {
    const { room } = link
    if (room.state !== 'ready' || this.links.get(room.id) !== link) return
    this.stats.received++
    try {
      this.dispatch(link, parseBusMessage(message))
    } catch (err) {
      // Nothing from the bus is trusted: a bad message costs itself, never the process.
      this.options.log.warn({ err, room: room.tag, from }, 'dropped a bus message that does not decode')
    }
  }

  private dispatch(link: Link, message: BusMessageIn): void {
    const { room } = link
    switch (message.type) {
      case 'update':
        link.changes++
        room.replica.applyUpdate(message.update)
        return
      case 'repair':
        link.changes++
        room.replica.applyRepair(message.update)
        return
      case 'awareness': {
        const now = Date.now()
        for (const entry of message.entries) {
          if (entry.removed) link.remoteAwareness.delete(entry.clientId)
          else link.remoteAwareness.set(entry.clientId, { clock: entry.clock, seenAt: now })
        }
        room.replica.applyAwareness(message.entries)
        return
      }
      case 'state':
        try {
          this.answerState(link, message.stateVector, message.deleteSetHash, message.flags)
        } catch (err) {
          this.failed(link, err, 'answering a peer')
        }
        return
      case 'awareness-query':
        if (link.localAwareness.size > 0) this.publish(link, encodeBusAwareness(link.localAwareness.values()))
        return
      case 'board-changed':
        room.refreshBoard().catch((err: unknown) => this.failed(link, err, 'reading the board again'))
        return
      case 'restored':
        room.replica.applyRestore({ by: message.by, versionCreatedAt: message.versionCreatedAt })
        return
      case 'unknown':
        // A newer instance during a rolling upgrade; what it says will reach us another way.
        return
    }
  }

  private answerState(link: Link, theirVector: Uint8Array, theirHash: Uint8Array, flags: number): void {
    const { room } = link
    const exact = (flags & StateFlag.Exact) !== 0
    const ours = this.digest(link)
    const theirs = Y.decodeStateVector(theirVector)
    const mine = Y.decodeStateVector(ours.stateVector)
    let theyLack = false
    let weLack = false
    let equal = theirs.size === mine.size
    for (const [client, clock] of mine) {
      const theirClock = theirs.get(client) ?? 0
      if (theirClock !== clock) equal = false
      // A periodic check counts only what we had an interval ago: newer is likely in flight.
      const missing = exact ? clock : Math.min(clock, link.settledVector.get(client) ?? 0)
      if (theirClock < missing) theyLack = true
    }
    for (const [client, clock] of theirs) if ((mine.get(client) ?? 0) < clock) weLack = true
    // Deletions do not move a state vector; only the digest shows a missed one. While
    // vectors differ the digests differ anyway, and a repair carries all deletions.
    const deletesDiffer = !Buffer.from(ours.deleteSetHash).equals(theirHash) && (exact || equal)
    if ((flags & StateFlag.WantReply) !== 0 && (weLack || deletesDiffer)) {
      this.publish(link, encodeBusState(ours, exact ? StateFlag.Exact : 0))
    }
    if (!theyLack && !deletesDiffer) return
    if (room.state !== 'ready') return
    // From the document, which runs ahead of the store (waiting for a flush would not
    // help: edits keep arriving while it stores). The peer stores what this brings.
    this.stats.repairsSent++
    this.publish(link, encodeBusRepair(room.replica.diff(theirVector)))
  }

  // --- healing -------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (this.ticking) return
    this.ticking = true
    try {
      const now = Date.now()
      const links = [...this.links.values()]
      for (const link of links) {
        if (link.room.state !== 'ready') continue
        const digest = this.digest(link)
        this.publish(link, encodeBusState(digest, StateFlag.WantReply))
        link.settledVector = Y.decodeStateVector(digest.stateVector)
        this.expireAwareness(link, now)
      }
      await Promise.all(links.map((link) => this.catchUpFromStore(link)))
    } finally {
      this.ticking = false
    }
  }

  private async healNow(link: Link): Promise<void> {
    if (link.room.state !== 'ready') return
    this.publish(link, encodeBusState(this.digest(link), StateFlag.WantReply | StateFlag.Exact))
    this.publish(link, BUS_AWARENESS_QUERY)
    await this.catchUpFromStore(link)
  }

  private async catchUpFromStore(link: Link): Promise<void> {
    const { store, log } = this.options
    if (!store) return
    const { room } = link
    try {
      const news = await store.catchUp(room.id)
      if (!news || room.state !== 'ready' || this.links.get(room.id) !== link) return
      this.stats.storeCatchUps++
      link.changes++
      room.replica.applyUpdate(news)
    } catch (err) {
      // The next tick tries again; meanwhile the bus still carries live updates.
      log.warn({ err, room: room.tag }, 'could not read the store to catch up')
    }
  }

  private expireAwareness(link: Link, now: number): void {
    const expired: Uint8Array[] = []
    for (const [clientId, seen] of link.remoteAwareness) {
      if (now - seen.seenAt < this.options.remoteAwarenessTimeoutMs) continue
      link.remoteAwareness.delete(clientId)
      expired.push(encodeAwarenessRemoval(clientId, seen.clock))
    }
    if (expired.length === 0) return
    this.stats.expiredAwareness += expired.length
    this.options.log.info({ room: link.room.tag, clients: expired.length }, 'removed cursors of remote clients that stopped refreshing')
    link.room.replica.applyAwareness(parseAwarenessUpdate(encodeAwarenessPayload(expired)))
  }

  // --- helpers -------------------------------------------------------------------------

  /** Nothing from the bus or a peer may take the process down: log, and let healing try again. */
  private failed(link: Link, err: unknown, what: string): void {
    this.options.log.warn({ err, room: link.room.tag }, `replication step failed (${what}); anti-entropy retries it`)
  }

  private linkOf(room: Room): Link | null {
    const link = this.links.get(room.id)
    return link && link.room === room ? link : null
  }

  private publish(link: Link, message: Uint8Array): void {
    this.stats.published++
    this.options.bus.publish(link.topic, message)
  }

  /** The room's state vector and delete-set hash, recomputed only after a change. */
  private digest(link: Link): StateDigest {
    if (link.digest && link.digest.changes === link.changes) return link.digest
    // Through the room's own methods, which answer a dormant room without waking it.
    const stateVector = link.room.replica.stateVector()
    // An update against our own state vector holds no structs: just the delete set,
    // written in a canonical order, so equal documents hash equal.
    const deletes = link.room.replica.diff(stateVector)
    const deleteSetHash = new Uint8Array(createHash('sha1').update(deletes).digest())
    link.digest = { changes: link.changes, stateVector, deleteSetHash }
    return link.digest
  }
}
