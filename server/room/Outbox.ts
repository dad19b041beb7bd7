import type { Logger } from 'pino'
import * as Y from 'yjs'
import { SyncError } from '../errors'
import { type FanOutCodec, fanOut } from '../protocol/fanOut'
import { encodeAwareness, encodeUpdate } from '../protocol/messages'
import type { Store } from '../storage/Store'
import type { Peer } from './Peer'
import type { LogSize, Relay } from './UpdateIntake'

interface QueuedUpdate extends Relay {
  /** Came from another instance, which stored it already. */
  remote: boolean
}

interface QueuedAwareness {
  bytes: Uint8Array
  from: Peer | null
}

export interface OutboxOptions {
  roomId: string
  store: Store
  log: Logger
  /** Who gets what is sent: the room's connections. */
  peers: ReadonlySet<Peer>
  /** Compact the stored log into one snapshot once it holds this many bytes or entries. */
  compactAfterBytes: number
  compactAfterEntries: number
  /** The whole document, encoded, for compaction. */
  encodedState(): Uint8Array
  observeAppendSeconds?: (seconds: number) => void
  /** Local updates once stored, and local awareness as sent: what other instances need. */
  onStored?(updates: Uint8Array[]): void
  onAwarenessSent?(entries: Uint8Array[]): void
  /** The store refused an append: the room cannot go on safely. */
  onStoreFailed(error: SyncError): void
}

/** Updates merge into one Yjs update per frame. */
const updateCodec: FanOutCodec<Uint8Array> = {
  leaf: (items) => (items.length === 1 ? items[0]! : Y.mergeUpdates(items)),
  combine: (a, b) => Y.mergeUpdates([a, b]),
  frame: encodeUpdate,
}

const sendFrame = (peer: Peer, frame: Uint8Array) => void peer.send(frame)

/**
 * Rooms up to this size get each update as its own frame; bigger ones get merged frames.
 * Measured: Y.mergeUpdates of two shape updates takes ~22 µs, a send ~1.5 µs.
 */
const MERGE_UPDATES_ABOVE_PEERS = 16

/**
 * What a room sends, in order, and the promise behind it: nothing goes to a peer before
 * it is in the store. Each flush stores the queued updates, then broadcasts them (never
 * back to their sender), then runs the replies that had to wait for them (a joiner's full
 * state). Flushes run one after another on one chain. Awareness is not stored, so it goes
 * out at once. The chain also keeps the stored log's size and compacts it.
 *
 * @example
 * outbox.queueUpdate({ update, from: peer })
 * await outbox.flush() // stored, then sent to everyone but `peer`
 */
export class Outbox implements LogSize {
  private updates: QueuedUpdate[] = []
  private awareness = new Map<number, QueuedAwareness>()
  /** Replies that must wait until the queued updates are stored. */
  private afterStored: Array<() => void> = []
  private chain: Promise<void> = Promise.resolve()
  private storing = 0
  private stopped = false
  private logEntries = 0
  private logBytes = 0

  constructor(private readonly options: OutboxOptions) {}

  /** The stored log's size as loaded, so compaction starts from the truth. */
  loaded(entries: number, bytes: number): void {
    this.logEntries = entries
    this.logBytes = bytes
  }

  get bytes(): number {
    return this.logBytes
  }

  get entries(): number {
    return this.logEntries
  }

  queueUpdate(relay: Relay, remote = false): void {
    this.updates.push({ ...relay, remote })
  }

  /** The latest entry per client wins: one flush sends each client's state once. */
  queueAwareness(clientId: number, bytes: Uint8Array, from: Peer | null): void {
    this.awareness.set(clientId, { bytes, from })
  }

  /** Runs `reply` once everything queued so far is stored and sent (at once if nothing is). */
  whenStored(reply: () => void): void {
    if (this.updates.length > 0) this.afterStored.push(reply)
    else reply()
  }

  /** Nothing queued and nothing being stored: safe to put the document to sleep. */
  get idle(): boolean {
    return this.updates.length === 0 && this.storing === 0
  }

  /** Stores and sends what was queued. */
  flush(): Promise<void> {
    const updates = this.updates
    const awareness = this.awareness
    const afterStored = this.afterStored
    if (updates.length === 0 && awareness.size === 0 && afterStored.length === 0) return this.chain
    this.updates = []
    this.awareness = new Map()
    this.afterStored = []
    if (awareness.size > 0) this.sendAwareness(awareness)
    this.chain = this.chain.then(() => this.storeAndSend(updates, afterStored))
    return this.chain
  }

  /** No more sends or store writes (the room closed or failed). */
  stop(): void {
    this.stopped = true
  }

  private async storeAndSend(updates: QueuedUpdate[], afterStored: Array<() => void>): Promise<void> {
    if (this.stopped) return
    this.storing++
    try {
      await this.storeAndSendNow(updates, afterStored)
    } finally {
      this.storing--
    }
  }

  private async storeAndSendNow(updates: QueuedUpdate[], afterStored: Array<() => void>): Promise<void> {
    const { store, roomId, observeAppendSeconds } = this.options
    if (updates.length > 0) {
      try {
        for (const { update, remote } of updates) {
          if (remote) continue
          const started = performance.now()
          await store.append(roomId, update)
          observeAppendSeconds?.((performance.now() - started) / 1000)
          this.logEntries++
          this.logBytes += update.length
        }
      } catch (err) {
        this.options.onStoreFailed(
          new SyncError('storeFailed', 'the server could not save changes; reconnect to resend them', { cause: err }),
        )
        return
      }
      this.sendUpdates(updates)
      const local = updates.filter((u) => !u.remote).map((u) => u.update)
      if (local.length > 0) this.options.onStored?.(local)
    }
    for (const reply of afterStored) {
      try {
        reply()
      } catch (err) {
        this.options.log.warn({ err }, 'deferred reply failed')
      }
    }
    if (this.logBytes > this.options.compactAfterBytes || this.logEntries > this.options.compactAfterEntries) {
      await this.compact()
    }
  }

  /**
   * In a room of a few peers, updates go out as they came, one frame each: a peer's frames
   * of one turn leave in one write anyway (see WriteBatch), and merging two updates costs
   * about as much as a dozen sends. In a big room the merge tree keeps a flush to a few
   * frames per peer.
   */
  private sendUpdates(updates: QueuedUpdate[]): void {
    const peers = this.options.peers
    if (updates.length === 1 || peers.size <= MERGE_UPDATES_ABOVE_PEERS) {
      const frames = updates.map((u) => encodeUpdate(u.update))
      for (const peer of peers) {
        for (let i = 0; i < updates.length; i++) if (updates[i]!.from !== peer) peer.send(frames[i]!)
      }
      return
    }
    const outgoing = updates.map((u) => ({ from: u.from, item: u.update }))
    fanOut(outgoing, peers, updateCodec as FanOutCodec<unknown>, sendFrame)
  }

  /**
   * One frame with every changed awareness entry, to every peer. A sender's own entry rides
   * along in a frame it gets anyway, and y-protocols ignores a client's own state at the
   * same clock, so that costs bytes, never a send; a peer that sent everything in the batch
   * gets nothing. (Updates, which Yjs would apply again, never go back to their sender.)
   */
  private sendAwareness(pending: Map<number, QueuedAwareness>): void {
    const entries: Uint8Array[] = []
    const local: Uint8Array[] = []
    let onlySender: Peer | null | undefined
    for (const p of pending.values()) {
      entries.push(p.bytes)
      if (p.from !== null) local.push(p.bytes)
      onlySender = onlySender === undefined || onlySender === p.from ? p.from : null
    }
    const frame = encodeAwareness(entries)
    for (const peer of this.options.peers) if (peer !== onlySender) peer.send(frame)
    if (local.length > 0) this.options.onAwarenessSent?.(local)
  }

  /** Replaces the stored log by one snapshot of the document, now. */
  async compact(): Promise<void> {
    if (this.logEntries <= 1) return
    const state = this.options.encodedState()
    await this.options.store.compact(this.options.roomId, state)
    this.logEntries = 1
    this.logBytes = state.length
  }

  /** Compacts to `state` after what is already queued is stored (updates not yet stored are in it too). */
  compactTo(state: Uint8Array): void {
    this.logEntries = 1
    this.logBytes = state.length
    this.chain = this.chain.then(async () => {
      try {
        await this.options.store.compact(this.options.roomId, state)
      } catch (err) {
        this.options.log.error({ err }, 'compaction failed; the log stays as it was')
      }
    })
  }
}
