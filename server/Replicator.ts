import { createHash } from 'node:crypto'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { Logger } from 'pino'
import * as Y from 'yjs'
import type { Bus } from './Bus'
import { encodeAwarenessRemoval, parseAwarenessUpdate } from './messages'
import type { Room, RoomReplication } from './Room'
import type { RoomLifecycle } from './RoomManager'
import type { SharedStore } from './Store'

/** First varUint of a bus message. */
export const BusMessage = {
  /** A Yjs update the sender has stored: apply and relay, do not store again. */
  Update: 0,
  /** An awareness update (y-protocols format) from the sender's clients. */
  Awareness: 1,
  /** The sender's state vector and delete-set digest; a flag asks for the same back. */
  State: 2,
  /** Asks every instance for its clients' awareness states (a room just opened). */
  AwarenessQuery: 3,
} as const

/** Flags of a State message. */
const StateFlag = {
  /** Answer with your own State (so the sender learns what it lacks). */
  WantReply: 1,
  /**
   * Compare with your state now: sent after a load or a reconnection, when anything may be
   * missing. Without it (the periodic check) only what the receiver had a whole interval
   * ago counts as missing, so updates merely in flight do not trigger repairs.
   */
  Exact: 2,
} as const

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
  digest: { changes: number; stateVector: Uint8Array; deleteSetHash: Uint8Array } | null
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
 * Only stored content is ever sent to a peer (a peer relays without storing), so a reply
 * waits until the room's pending updates are stored.
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
      for (const link of this.links.values()) void this.healNow(link)
    })
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => void this.tick(), this.options.antiEntropyIntervalMs)
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
      topic: `room:${room.id}`,
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
    this.publish(link, encodeState(this.digest(link), StateFlag.WantReply | StateFlag.Exact))
    this.publish(link, Uint8Array.of(BusMessage.AwarenessQuery))
  }

  unloaded(room: Room): void {
    const link = this.links.get(room.id)
    if (!link || link.room !== room) return
    this.links.delete(room.id)
    this.options.store?.forget(room.id)
    this.options.bus
      .unsubscribe(link.topic)
      .catch((err: unknown) => this.options.log.warn({ err, room: room.id }, 'bus unsubscribe failed'))
  }

  // --- RoomReplication -----------------------------------------------------------------

  updatesStored(room: Room, updates: Uint8Array[]): void {
    const link = this.linkOf(room)
    if (!link) return
    link.changes++
    const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
    this.publish(link, encodeWithPayload(BusMessage.Update, update))
  }

  awarenessChanged(room: Room, entries: Uint8Array[]): void {
    const link = this.linkOf(room)
    if (!link) return
    const payload = encodeAwarenessPayload(entries)
    for (const entry of parseAwarenessUpdate(payload)) {
      // The client is here now, whatever another instance said about it before.
      link.remoteAwareness.delete(entry.clientId)
      if (entry.removed) link.localAwareness.delete(entry.clientId)
      else link.localAwareness.set(entry.clientId, entry.bytes)
    }
    this.publish(link, encodeWithPayload(BusMessage.Awareness, payload))
  }

  // --- incoming ------------------------------------------------------------------------

  private receive(link: Link, message: Uint8Array, from: string): void {
    const { room } = link
    if (room.state !== 'ready' || this.links.get(room.id) !== link) return
    this.stats.received++
    try {
      const decoder = decoding.createDecoder(message)
      const type = decoding.readVarUint(decoder)
      switch (type) {
        case BusMessage.Update:
          link.changes++
          room.applyRemoteUpdate(decoding.readVarUint8Array(decoder))
          return
        case BusMessage.Awareness: {
          const entries = parseAwarenessUpdate(decoding.readVarUint8Array(decoder))
          const now = Date.now()
          for (const entry of entries) {
            if (entry.removed) link.remoteAwareness.delete(entry.clientId)
            else link.remoteAwareness.set(entry.clientId, { clock: entry.clock, seenAt: now })
          }
          room.applyRemoteAwareness(entries)
          return
        }
        case BusMessage.State: {
          const stateVector = decoding.readVarUint8Array(decoder)
          const deleteSetHash = decoding.readVarUint8Array(decoder)
          const flags = decoding.readVarUint(decoder)
          void this.answerState(link, stateVector, deleteSetHash, flags)
          return
        }
        case BusMessage.AwarenessQuery:
          if (link.localAwareness.size > 0) {
            const payload = encodeAwarenessPayload(link.localAwareness.values())
            this.publish(link, encodeWithPayload(BusMessage.Awareness, payload))
          }
          return
        default:
          // A newer instance during a rolling upgrade; what it says will reach us another way.
          return
      }
    } catch (err) {
      this.options.log.warn({ err, room: room.id, from }, 'dropped a bus message that does not decode')
    }
  }

  private async answerState(link: Link, theirVector: Uint8Array, theirHash: Uint8Array, flags: number): Promise<void> {
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
      this.publish(link, encodeState(ours, exact ? StateFlag.Exact : 0))
    }
    if (!theyLack && !deletesDiffer) return
    try {
      // The peer relays what we send without storing it, so send only what is stored.
      await room.settle()
    } catch (err) {
      this.options.log.warn({ err, room: room.id }, 'could not store before answering a peer')
      return
    }
    if (room.state !== 'ready' || this.links.get(room.id) !== link) return
    this.stats.repairsSent++
    this.publish(link, encodeWithPayload(BusMessage.Update, room.diff(theirVector)))
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
        this.publish(link, encodeState(digest, StateFlag.WantReply))
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
    this.publish(link, encodeState(this.digest(link), StateFlag.WantReply | StateFlag.Exact))
    this.publish(link, Uint8Array.of(BusMessage.AwarenessQuery))
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
      room.applyRemoteUpdate(news)
    } catch (err) {
      // The next tick tries again; meanwhile the bus still carries live updates.
      log.warn({ err, room: room.id }, 'could not read the store to catch up')
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
    this.options.log.info({ room: link.room.id, clients: expired.length }, 'removed cursors of remote clients that stopped refreshing')
    link.room.applyRemoteAwareness(parseAwarenessUpdate(encodeAwarenessPayload(expired)))
  }

  // --- helpers -------------------------------------------------------------------------

  private linkOf(room: Room): Link | null {
    const link = this.links.get(room.id)
    return link && link.room === room ? link : null
  }

  private publish(link: Link, message: Uint8Array): void {
    this.stats.published++
    this.options.bus.publish(link.topic, message)
  }

  /** The room's state vector and delete-set hash, recomputed only after a change. */
  private digest(link: Link): { stateVector: Uint8Array; deleteSetHash: Uint8Array } {
    if (link.digest && link.digest.changes === link.changes) return link.digest
    // Through the room's own methods, which answer a dormant room without waking it.
    const stateVector = link.room.stateVector()
    // An update against our own state vector holds no structs: just the delete set,
    // written in a canonical order, so equal documents hash equal.
    const deletes = link.room.diff(stateVector)
    const deleteSetHash = new Uint8Array(createHash('sha1').update(deletes).digest())
    link.digest = { changes: link.changes, stateVector, deleteSetHash }
    return link.digest
  }
}

function encodeWithPayload(type: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, type)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

function encodeState(digest: { stateVector: Uint8Array; deleteSetHash: Uint8Array }, flags: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, BusMessage.State)
  encoding.writeVarUint8Array(encoder, digest.stateVector)
  encoding.writeVarUint8Array(encoder, digest.deleteSetHash)
  encoding.writeVarUint(encoder, flags)
  return encoding.toUint8Array(encoder)
}

/** An awareness update in y-protocols format (count, then entries) from raw entries. */
function encodeAwarenessPayload(entries: Iterable<Uint8Array>): Uint8Array {
  const list = [...entries]
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, list.length)
  for (const entry of list) encoding.writeUint8Array(encoder, entry)
  return encoding.toUint8Array(encoder)
}
