import type { Logger } from 'pino'
import { SyncError } from '../errors'
import { sendAwareness, sendUpdates } from './broadcast'
import type { Store } from '../storage/Store'
import type { QueuedAwareness } from './broadcast'
import type { Peer } from './Peer'
import type { StoreMonitor } from './StoreMonitor'
import type { LogSize, Relay } from './UpdateIntake'

/** Sends a prepared reply. */
type Reply = () => void

interface QueuedUpdate extends Relay {
  /** Came from another instance, which stored it already. */
  remote: boolean
}

export interface OutboxOptions {
  roomId: string
  /** What logs and the monitor call the room. */
  tag: string
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
  /**
   * The store refused an append. `unsaved` is every local update not stored, oldest
   * first: none of it has been sent. The outbox keeps them and retries.
   */
  onPaused(error: SyncError, unsaved: readonly Relay[]): void
  /** Appends work again: everything that was unsaved is stored and sent. */
  onResumed(): void
  /** Hears of failed and recovered store writes (health, metrics). */
  monitor?: StoreMonitor
  /** Retry delays while the store fails: the first and the longest (default 250 ms, 5 s). */
  retryMs?: { first: number; max: number }
}

/** What the sender of an update the store refused is told. */
export const UNSAVED_REASON = 'the server could not save your last change; it is kept in your browser and sent again when you reconnect'

/**
 * What a room sends, in order, and the promise behind it: nothing goes to a peer before
 * it is in the store. Each flush stores the queued updates, then broadcasts them (never
 * back to their sender), then runs the replies that had to wait for them (a joiner's full
 * state). Flushes run one after another on one chain, and a failed link never stops the
 * ones after it. Awareness is not stored: alone it goes out at once, beside updates it goes
 * out with them (one write per peer). The chain also keeps the stored log's size and
 * compacts it.
 *
 * When the store refuses an append, the outbox pauses: that update and every local one
 * after it stay unsent, the room is told (it closes their senders and tells the others),
 * and the outbox retries with backoff until the store takes them; then they go out and
 * the room resumes.
 *
 * @example
 * outbox.queueUpdate({ update, from: peer })
 * await outbox.flush() // stored, then sent to everyone but `peer`
 */
export class Outbox implements LogSize {
  private updates: QueuedUpdate[] = []
  private awareness = new Map<number, QueuedAwareness>()
  /** Replies to prepare when the queued updates are taken, and send once they are stored. */
  private afterStored: Array<() => Reply> = []
  private chain: Promise<void> = Promise.resolve()
  /** Flushes taken from the queue and not done storing and sending (waiting on the chain included). */
  private storing = 0
  private stopped = false
  private logEntries = 0
  private logBytes = 0
  /** While the store refuses appends: the local updates not stored yet, oldest first. */
  private unsaved: QueuedUpdate[] | null = null
  /** Replies that wait for the unsaved updates. */
  private heldReplies: Reply[] = []
  private retryTimer: NodeJS.Timeout | null = null
  private retryDelay = 0

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

  /**
   * A reply from the document (a joiner's full state), sent only once everything in it is
   * stored. `prepare` reads the document and returns the send. It runs when the document
   * holds nothing beyond what is stored, being stored or about to be: at once when nothing
   * is queued, else when the next flush takes the queue. So later edits, which arrive
   * while a flush appends, are never in it; and if the store refuses what is in it, it
   * waits with the unsaved updates. Throws what `prepare` throws only when it runs at once.
   */
  whenStored(prepare: () => Reply): void {
    if (this.updates.length > 0) this.afterStored.push(prepare)
    else if (this.unsaved) this.heldReplies.push(this.prepared(prepare))
    else if (this.storing > 0) this.sendAfterStored([this.prepared(prepare)])
    else prepare()()
  }

  /** `prepare` run now; one that throws is logged and sends nothing. */
  private prepared(prepare: () => Reply): Reply {
    try {
      return prepare()
    } catch (err) {
      this.options.log.warn({ err }, 'deferred reply failed')
      return () => undefined
    }
  }

  /** Sends `replies` after what the chain holds is stored, or holds them if it was refused. */
  private sendAfterStored(replies: Reply[]): void {
    void this.enqueue(async () => {
      if (this.stopped) return
      if (this.unsaved) this.heldReplies.push(...replies)
      else this.reply(replies)
    })
  }

  /** Nothing queued, nothing being stored, nothing unsaved: safe to put the document to sleep. */
  get idle(): boolean {
    return this.updates.length === 0 && this.storing === 0 && !this.unsaved
  }

  /** The store refuses appends; unsaved updates wait for it. */
  get paused(): boolean {
    return this.unsaved !== null
  }

  /** Local updates the store has not taken yet (while paused). */
  get unsavedCount(): number {
    return this.unsaved?.length ?? 0
  }

  /** Stores and sends what was queued. */
  flush(): Promise<void> {
    const updates = this.updates
    const awareness = this.awareness
    if (updates.length === 0 && awareness.size === 0) return this.chain
    // Prepared now: the document holds what this flush stores, and nothing newer yet.
    const afterStored = this.afterStored.map((prepare) => this.prepared(prepare))
    this.updates = []
    this.awareness = new Map()
    this.afterStored = []
    // Awareness is never stored. Alone it goes out at once; beside updates it goes out with
    // them, once they are stored, so each peer gets the whole flush in one write (a write
    // is one system call, and the flush's updates can only leave in a later turn). While
    // paused, updates wait for the store and awareness does not wait with them.
    const withUpdates = awareness.size > 0 && updates.length > 0 && !this.unsaved ? awareness : null
    if (awareness.size > 0 && !withUpdates) this.sendAwareness(awareness)
    // Counted from now, not from when its link starts: the chain may still be busy.
    this.storing++
    return this.enqueue(() => this.storeAndSend(updates, afterStored, withUpdates))
  }

  private sendAwareness(awareness: Map<number, QueuedAwareness>): void {
    const local = sendAwareness(this.options.peers, awareness.values())
    if (local.length > 0) this.options.onAwarenessSent?.(local)
  }

  /** Adds a link to the chain; a link that fails is logged and never stops the ones after it. */
  private enqueue(work: () => Promise<unknown>): Promise<void> {
    this.chain = this.chain
      .then(work)
      .then(() => undefined)
      .catch((err: unknown) => this.options.log.error({ err }, 'store-then-send step failed'))
    return this.chain
  }

  /** No more sends or store writes (the room closed or failed). */
  stop(): void {
    this.stopped = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  private async storeAndSend(updates: QueuedUpdate[], afterStored: Reply[], awareness: Map<number, QueuedAwareness> | null): Promise<void> {
    try {
      if (!this.stopped) await this.storeAndSendNow(updates, afterStored, awareness)
    } finally {
      this.storing--
    }
  }

  /** `awareness` (the flush's, if it had updates too) goes out with the first updates sent, or at once if none can be. */
  private async storeAndSendNow(
    updates: QueuedUpdate[],
    afterStored: Reply[],
    awareness: Map<number, QueuedAwareness> | null,
  ): Promise<void> {
    if (this.unsaved) {
      if (awareness) this.sendAwareness(awareness)
      // Paused: local updates wait behind the unsaved ones; other instances' are stored already.
      for (const u of updates) if (!u.remote) this.unsaved.push(u)
      this.send(updates.filter((u) => u.remote))
      this.heldReplies.push(...afterStored)
      return
    }
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!
      if (u.remote) continue
      try {
        await this.append(u.update)
      } catch (err) {
        // What was stored before it goes out; it and the rest wait.
        if (awareness) this.sendAwareness(awareness)
        this.send(updates.slice(0, i))
        this.pause(err, updates.slice(i), afterStored)
        return
      }
    }
    if (awareness) this.sendAwareness(awareness)
    this.send(updates)
    this.reply(afterStored)
    if (this.logBytes > this.options.compactAfterBytes || this.logEntries > this.options.compactAfterEntries) {
      await this.compactLogged()
    }
  }

  private async append(update: Uint8Array): Promise<void> {
    const { store, roomId, observeAppendSeconds } = this.options
    const started = performance.now()
    await store.append(roomId, update)
    observeAppendSeconds?.((performance.now() - started) / 1000)
    this.logEntries++
    this.logBytes += update.length
  }

  /** Sends stored updates to the room and hands the local ones to replication. */
  private send(updates: QueuedUpdate[]): void {
    if (updates.length === 0) return
    sendUpdates(this.options.peers, updates)
    const local = updates.filter((u) => !u.remote).map((u) => u.update)
    if (local.length > 0) this.options.onStored?.(local)
  }

  private reply(replies: Reply[]): void {
    for (const reply of replies) {
      try {
        reply()
      } catch (err) {
        this.options.log.warn({ err }, 'deferred reply failed')
      }
    }
  }

  private pause(err: unknown, rest: QueuedUpdate[], replies: Reply[]): void {
    this.send(rest.filter((u) => u.remote))
    this.unsaved = rest.filter((u) => !u.remote)
    this.heldReplies.push(...replies)
    this.options.monitor?.appendFailed(this.options.tag, err)
    this.options.log.error({ err, unsaved: this.unsaved.length }, 'the store refused an update; saving is paused and retried')
    this.retryDelay = this.options.retryMs?.first ?? 250
    this.scheduleRetry()
    this.options.onPaused(new SyncError('storeFailed', UNSAVED_REASON, { cause: err }), this.unsaved)
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      void this.enqueue(() => this.retry())
    }, this.retryDelay)
    this.retryTimer.unref()
  }

  /**
   * Appends the unsaved updates in order, sending each one once stored. True once all are
   * stored and the outbox has resumed; false (and a retry is scheduled) if the store still
   * refuses. Runs on the chain when called from outside.
   */
  async retry(): Promise<boolean> {
    const unsaved = this.unsaved
    if (!unsaved) return true
    if (this.stopped) return false
    while (unsaved.length > 0) {
      const next = unsaved[0]!
      try {
        await this.append(next.update)
      } catch {
        this.retryDelay = Math.min(this.retryDelay * 2, this.options.retryMs?.max ?? 5000)
        this.scheduleRetry()
        return false
      }
      unsaved.shift()
      this.send([next])
    }
    this.unsaved = null
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.options.monitor?.appendRecovered(this.options.tag)
    this.options.log.info('the store takes updates again; saving resumed')
    const replies = this.heldReplies
    this.heldReplies = []
    this.options.onResumed()
    this.reply(replies)
    return true
  }

  /** Replaces the stored log by one snapshot of the document, now. Throws if the store does. */
  async compact(): Promise<void> {
    if (this.logEntries <= 1) return
    const state = this.options.encodedState()
    await this.options.store.compact(this.options.roomId, state)
    this.logEntries = 1
    this.logBytes = state.length
  }

  /** A compaction that fails is counted and logged; the log stays as it was and still takes appends. */
  private async compactLogged(): Promise<void> {
    try {
      await this.compact()
    } catch (err) {
      this.compactionFailed(err)
    }
  }

  private compactionFailed(err: unknown): void {
    this.options.monitor?.compactFailed()
    this.options.log.error({ err }, 'compaction failed; the log stays as it was')
  }

  /** Compacts to `state` after what is already queued is stored (updates not yet stored are in it too). */
  compactTo(state: Uint8Array): void {
    // Counted as compacted now, so the size limit does not ask again while this waits its turn.
    const before = { entries: this.logEntries, bytes: this.logBytes }
    this.logEntries = 1
    this.logBytes = state.length
    void this.enqueue(async () => {
      try {
        await this.options.store.compact(this.options.roomId, state)
      } catch (err) {
        // The old log is still there, with whatever was appended since.
        this.logEntries += before.entries - 1
        this.logBytes += before.bytes - state.length
        this.compactionFailed(err)
      }
    })
  }

  /** Tries the unsaved updates once more, now, after what is queued (shutdown). True when nothing is left unsaved. */
  async retryNow(): Promise<boolean> {
    let done = false
    await this.enqueue(async () => (done = await this.retry()))
    return done
  }
}
