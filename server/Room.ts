import * as decoding from 'lib0/decoding'
import type { Logger } from 'pino'
import * as Y from 'yjs'
import { CloseCode } from '../lib/protocol'
import { PRESENCE_FIELD, USER_FIELD } from '../lib/presence'
import { BoardRules, type BoardWatcher, LOADING } from './BoardRules'
import type { Connection } from './Connection'
import { type FanOutCodec, fanOut } from './fanOut'
import { SyncError } from './errors'
import {
  type AwarenessEntry,
  encodeAwareness,
  encodeAwarenessRemoval,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  parseMessage,
} from './messages'
import type { Stats } from './Stats'
import type { Store } from './Store'

export interface RoomOptions {
  store: Store
  log: Logger
  stats: Stats
  /** Called when the room has something to send; the server flushes all such rooms once per event-loop turn. */
  requestFlush: (room: Room) => void
  /** Compact the stored log into one snapshot once it holds this many bytes or entries. */
  compactAfterBytes: number
  compactAfterEntries: number
  observeAppendSeconds?: (seconds: number) => void
  /** A busy room sends at most this often (ms); 0 sends at the end of every event-loop turn. */
  flushIntervalMs?: number
  /**
   * Hears this room's local changes so other instances can get them (the Bus). Updates are
   * reported once stored; awareness entries as they are relayed.
   */
  replicate?: RoomReplication
  /** tldraw's rules for `records` and `meta`; without them the room relays any Yjs content. */
  rules?: BoardRules
  limits: RoomLimits
}

export interface RoomLimits {
  /** Refuse updates that would grow the stored document past this. */
  maxDocBytes: number
  /** Largest awareness state (one client's entry). */
  maxAwarenessBytes: number
  /** Connections per room; the next joiner is closed with 4413. */
  maxConnections: number
  /** How long an update may wait for changes it depends on before its sender is cut off. */
  pendingTimeoutMs: number
  /** Refused messages a connection may send before it is closed with 4400. */
  maxOffences: number
}

export interface RoomReplication {
  updatesStored(room: Room, updates: Uint8Array[]): void
  awarenessChanged(room: Room, entries: Uint8Array[]): void
}

interface AwarenessState {
  clock: number
  /** The client's entry as received, or null once it left (kept so stale updates stay stale). */
  bytes: Uint8Array | null
  owner: Connection | null
}

interface PendingUpdate {
  update: Uint8Array
  from: Connection | null
  /** Came from another instance, which stored it already. */
  remote: boolean
}

export type RoomState = 'loading' | 'ready' | 'unloading' | 'closed' | 'failed'

/** Remembers its byte decoder, so we can tell whether decoding used every byte. */
class StrictDecoderV1 extends Y.UpdateDecoderV1 {
  static last: decoding.Decoder | null = null
  constructor(decoder: decoding.Decoder) {
    super(decoder)
    StrictDecoderV1.last = decoder
  }
}

/**
 * Throws unless `update` decodes as exactly one Yjs v1 update. A v2 update (or garbage)
 * often decodes as a short v1 update with bytes left over; that is refused too.
 */
export function checkUpdateV1(update: Uint8Array): { empty: boolean } {
  let rest: decoding.Decoder | null
  let empty: boolean
  try {
    StrictDecoderV1.last = null
    const decoded = Y.decodeUpdateV2(update, StrictDecoderV1)
    empty = decoded.structs.length === 0 && decoded.ds.clients.size === 0
    rest = StrictDecoderV1.last
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err)
    throw new SyncError('malformed', `malformed message: update does not decode (${detail})`, { cause: err })
  }
  if (rest && decoding.hasContent(rest)) {
    throw new SyncError('malformed', 'malformed message: not a Yjs v1 update (bytes left over after decoding)')
  }
  return { empty }
}

const sendFrame = (conn: Connection, frame: Uint8Array) => void conn.send(frame)

/** Updates merge into one Yjs update per frame. */
const updateCodec: FanOutCodec<Uint8Array> = {
  leaf: (items) => (items.length === 1 ? items[0]! : Y.mergeUpdates(items)),
  combine: (a, b) => Y.mergeUpdates([a, b]),
  frame: encodeUpdate,
}

/** Whether a transaction added structs (Yjs's own test before it encodes an update). */
function changedClocks(tr: Y.Transaction): boolean {
  for (const [client, clock] of tr.afterState) if (tr.beforeState.get(client) !== clock) return true
  return false
}

/**
 * Rooms up to this size get each update as its own frame; bigger ones get merged frames.
 * Measured: Y.mergeUpdates of two shape updates takes ~22 µs, a send ~1.5 µs.
 */
const MERGE_UPDATES_ABOVE_PEERS = 16

const EMPTY_STATE_VECTOR = (sv: Uint8Array) => sv.length === 1 && sv[0] === 0

/**
 * One board: a Y.Doc, the awareness of everyone in it, and their connections.
 *
 * Everything a room receives in one event-loop turn goes out together at the end of the
 * turn: all updates merged into one frame, the latest awareness entry per client in
 * another, each encoded once and written to every peer but its sender. Updates are
 * appended to the store before that, so nothing a peer has seen can be lost.
 *
 * @example
 * const room = new Room('abc', options)
 * await room.load()
 * room.join(connection)
 * room.receive(connection, frame)
 */
export class Room {
  private liveDoc: Y.Doc | null = null
  /** While dormant: the whole document, encoded (a view into `fullStateFrame`). */
  private dormantState: Uint8Array | null = null
  private lastDocActivity = Date.now()
  readonly connections = new Set<Connection>()
  state: RoomState = 'loading'
  /** Joins that have the room but have not added their connection yet; keeps it loaded. */
  joining = 0

  private readonly awareness = new Map<number, AwarenessState>()
  private pendingUpdates: PendingUpdate[] = []
  private pendingAwareness = new Map<number, { bytes: Uint8Array; from: Connection | null }>()
  /** Replies that must wait until pending updates are stored (a joiner's full state). */
  private afterAppend: Array<() => void> = []
  private flushRequested = false
  private flushChain: Promise<void> = Promise.resolve()

  // Encoded once, reused for every joiner until the document changes.
  private fullStateFrame: Uint8Array | null = null
  private stateVectorFrame: Uint8Array | null = null
  private awarenessFrameCache: Uint8Array | null = null

  private docChanges = 0
  private logEntries = 0
  private logBytes = 0
  private watcher: BoardWatcher | null = null
  /** Store writes in flight; a room does not go dormant under them. */
  private storing = 0
  /** Set while the doc holds structs whose dependencies have not arrived. */
  private pending: { since: Uint8Array; conn: Connection; timer: NodeJS.Timeout } | null = null

  constructor(
    readonly id: string,
    private readonly options: RoomOptions,
  ) {
    this.attach(new Y.Doc())
  }

  /** The room's document, brought back to life first if the room was dormant. */
  get doc(): Y.Doc {
    if (!this.liveDoc) this.wake()
    return this.liveDoc!
  }

  get isDormant(): boolean {
    return this.liveDoc === null
  }

  private attach(doc: Y.Doc): void {
    // Yjs encodes every transaction for 'update' listeners; we only need to know whether
    // one changed anything, which is the test Yjs itself uses before encoding.
    doc.on('afterTransactionCleanup', (tr: Y.Transaction) => {
      if (tr.deleteSet.clients.size === 0 && !changedClocks(tr)) return
      this.docChanges++
      this.lastDocActivity = Date.now()
      this.fullStateFrame = null
      this.stateVectorFrame = null
    })
    this.liveDoc = doc
    this.watcher = this.options.rules ? this.options.rules.watch(doc) : null
  }

  /**
   * Idle rooms keep only their encoded state (a Y.Doc takes several times its encoded
   * size in memory). Called by the server's housekeeping; a no-op unless the document has
   * been still for `afterMs` and nothing is in flight.
   */
  sleepIfIdle(now: number, afterMs: number): boolean {
    if (!this.liveDoc || this.state !== 'ready' || now - this.lastDocActivity < afterMs) return false
    if (this.pendingUpdates.length > 0 || this.pending || this.storing > 0) return false
    const store = this.liveDoc.store
    if (store.pendingStructs || store.pendingDs) return false
    const state = Y.encodeStateAsUpdate(this.liveDoc)
    const stateVectorFrame = this.stateVectorFrame ?? encodeSyncStep1(Y.encodeStateVector(this.liveDoc))
    this.liveDoc.destroy()
    this.liveDoc = null
    this.watcher = null
    this.fullStateFrame = encodeSyncStep2(state)
    this.dormantState = this.fullStateFrame.subarray(this.fullStateFrame.length - state.length)
    this.stateVectorFrame = stateVectorFrame
    if (this.logEntries > 1) this.compactWith(this.dormantState)
    return true
  }

  private wake(): void {
    const state = this.dormantState!
    const frames = [this.fullStateFrame, this.stateVectorFrame] as const
    this.attach(new Y.Doc())
    Y.applyUpdate(this.liveDoc!, state, LOADING)
    // Same content as before: the cached frames stay valid.
    ;[this.fullStateFrame, this.stateVectorFrame] = frames
    this.dormantState = null
  }

  /** The whole document encoded, without waking a dormant room. */
  private encodedState(): Uint8Array {
    return this.dormantState ?? Y.encodeStateAsUpdate(this.doc)
  }

  /** Reads the room from the store. Throws (and the room must be discarded) if it cannot. */
  async load(): Promise<void> {
    const stored = await this.options.store.load(this.id)
    if (stored) {
      Y.applyUpdate(this.doc, stored.update, LOADING)
      this.logEntries = stored.entries
      this.logBytes = stored.bytes
      // The stored update is already a full state: joiners get it without re-encoding.
      this.fullStateFrame = encodeSyncStep2(stored.update)
    }
    this.state = 'ready'
  }

  /** Adds a connection and starts the sync handshake with it. */
  join(conn: Connection): void {
    if (this.connections.size >= this.options.limits.maxConnections) {
      throw new SyncError('limit', `this board is full: ${this.options.limits.maxConnections} people are connected`)
    }
    this.connections.add(conn)
    conn.send((this.stateVectorFrame ??= encodeSyncStep1(Y.encodeStateVector(this.doc))))
    const awareness = this.awarenessFrame()
    if (awareness) conn.send(awareness)
  }

  /** Removes a connection; its awareness states are announced as gone. */
  leave(conn: Connection): void {
    if (!this.connections.delete(conn)) return
    for (const clientId of conn.awarenessClients.keys()) {
      const current = this.awareness.get(clientId)
      if (!current || current.owner !== conn || current.bytes === null) continue
      this.awareness.set(clientId, { clock: current.clock + 1, bytes: null, owner: null })
      this.pendingAwareness.set(clientId, { bytes: encodeAwarenessRemoval(clientId, current.clock), from: conn })
      this.awarenessFrameCache = null
    }
    this.requestFlush()
  }

  /**
   * Handles one binary frame. Returns false when it changed nothing at all (an echo of
   * known awareness), which the rate limiter does not count. Throws SyncError for
   * malformed input; the caller closes `conn`.
   */
  receive(conn: Connection, frame: Uint8Array): boolean {
    const message = parseMessage(frame)
    switch (message.type) {
      case 'sync-step1':
        conn.handshaken = true
        if (this.pendingUpdates.length > 0) {
          this.afterAppend.push(() => this.answerStep1(conn, message.stateVector))
        } else {
          this.answerStep1(conn, message.stateVector)
        }
        return true
      case 'sync-step2':
      case 'sync-update':
        if (conn.readOnly) {
          this.refuseWrite(conn, message.update)
          return true
        }
        this.applyUpdate(conn, message.update)
        return true
      case 'awareness':
        return this.applyAwareness(conn, message.entries) || message.entries.length === 0
      case 'query-awareness': {
        const frame = this.awarenessFrame()
        if (frame) conn.send(frame)
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
  private refuseWrite(conn: Connection, update: Uint8Array): void {
    // Every client answers our sync step 1 with its own (usually empty) step 2: not a write.
    if (checkUpdateV1(update).empty || conn.deniedWrite) return
    conn.deniedWrite = true
    conn.send(encodePermissionDenied('this is a view-only link: changes are not saved'))
    this.options.log.info({ room: this.id, conn: conn.id }, 'refused a write from a view-only connection')
  }

  private answerStep1(conn: Connection, stateVector: Uint8Array): void {
    if (EMPTY_STATE_VECTOR(stateVector)) {
      conn.send((this.fullStateFrame ??= encodeSyncStep2(Y.encodeStateAsUpdate(this.doc))))
      return
    }
    let diff: Uint8Array
    try {
      // A dormant room answers from its encoded state, without waking.
      diff = this.dormantState ? Y.diffUpdate(this.dormantState, stateVector) : Y.encodeStateAsUpdate(this.doc, stateVector)
    } catch (err) {
      throw new SyncError('malformed', 'malformed message: state vector does not decode', { cause: err })
    }
    conn.send(encodeSyncStep2(diff))
  }

  private applyUpdate(conn: Connection, received: Uint8Array): void {
    const limits = this.options.limits
    if (this.logBytes + received.length > limits.maxDocBytes) {
      // The log over-counts (overwritten values stay in it until compaction): measure for real.
      const state = Y.encodeStateAsUpdate(this.doc)
      if (state.length + received.length > limits.maxDocBytes) {
        throw new SyncError('limit', `this board has reached its size limit of ${limits.maxDocBytes} bytes`)
      }
      this.compactWith(state)
    }
    // Decoding first means a bad update is refused whole, never half applied.
    // An empty one (every client's first sync step 2 to a board it lacks nothing of) changes nothing.
    if (checkUpdateV1(received).empty) return
    // ws hands out views into larger buffers; a Y.Doc may keep what it is given.
    const update = received.byteOffset === 0 && received.buffer.byteLength === received.length ? received : received.slice()
    const store = this.doc.store
    const wasPending = this.pending !== null
    const changesBefore = this.docChanges
    let beforeState = new Map<number, number>()
    // The transaction Yjs would open for a remote update, opened here to keep the state it
    // started from (Yjs computes it anyway) for the slow paths below; encoded only there.
    Y.transact(
      this.doc,
      (tr) => {
        beforeState = tr.beforeState
        Y.applyUpdate(this.doc, update, conn)
      },
      conn,
      false,
    )
    const before = () => Y.encodeStateVector(beforeState)

    const violations = this.watcher?.take() ?? []
    if (violations.length > 0) {
      this.watcher!.revert(violations)
      conn.offences += violations.length
      this.options.log.warn(
        { room: this.id, conn: conn.id, violations: violations.slice(0, 5).map((v) => `${v.key}: ${v.reason}`), count: violations.length },
        'reverted invalid changes',
      )
    }
    const isPending = store.pendingStructs !== null || store.pendingDs !== null
    if (isPending) {
      // Held back (corrections included) until the missing changes arrive.
      if (!this.pending) this.startPending(conn, before())
    } else if (wasPending) {
      // Completed what was waiting: send everything since it started.
      this.pendingUpdates.push({ update: Y.encodeStateAsUpdate(this.doc, this.endPending()), from: null, remote: false })
    } else if (violations.length > 0) {
      // Send what actually changed, sender included, so reverted content never leaves the
      // server and everyone converges on the valid state.
      this.pendingUpdates.push({ update: Y.encodeStateAsUpdate(this.doc, before()), from: null, remote: false })
    } else if (this.docChanges !== changesBefore) {
      // The fast path: relay and store the bytes as received.
      this.pendingUpdates.push({ update, from: conn, remote: false })
    }
    if (conn.offences > limits.maxOffences) {
      throw new SyncError('malformed', `malformed message: too many invalid changes (${conn.offences})`)
    }
    if (this.pendingUpdates.length > 0) this.requestFlush()
  }

  /**
   * The doc holds structs whose dependencies have not arrived (normal for a moment after a
   * reconnect). They are neither relayed nor stored until complete; if they stay
   * incomplete, the sender is cut off and they are dropped.
   */
  private startPending(conn: Connection, since: Uint8Array): void {
    const timer = setTimeout(() => {
      if (this.pending?.timer !== timer || this.state !== 'ready') return
      const store = this.doc.store
      store.pendingStructs = null
      store.pendingDs = null
      // What did integrate while waiting still goes out and into the store.
      this.pendingUpdates.push({ update: Y.encodeStateAsUpdate(this.doc, this.endPending()), from: null, remote: false })
      this.requestFlush()
      conn.close(CloseCode.Malformed, 'malformed message: update depends on changes that were never sent')
    }, this.options.limits.pendingTimeoutMs)
    timer.unref()
    this.pending = { since, conn, timer }
  }

  private endPending(): Uint8Array {
    const { since, timer } = this.pending!
    clearTimeout(timer)
    this.pending = null
    return since
  }

  /**
   * An update from another instance (already stored there): applied and relayed to this
   * instance's peers, not stored again.
   */
  applyRemoteUpdate(update: Uint8Array): void {
    if (this.state !== 'ready') return
    const before = this.docChanges
    Y.applyUpdate(this.doc, update, 'remote')
    if (this.docChanges === before) return
    this.pendingUpdates.push({ update, from: null, remote: true })
    this.requestFlush()
  }

  /** Awareness entries from another instance's clients. */
  applyRemoteAwareness(entries: AwarenessEntry[]): void {
    if (this.state !== 'ready') return
    this.applyAwareness(null, entries)
  }

  /** This room's state vector, for anti-entropy with other instances. */
  stateVector(): Uint8Array {
    return this.dormantState ? Y.encodeStateVectorFromUpdate(this.dormantState) : Y.encodeStateVector(this.doc)
  }

  /** What this room has that a peer with `stateVector` lacks. */
  diff(stateVector: Uint8Array): Uint8Array {
    return this.dormantState ? Y.diffUpdate(this.dormantState, stateVector) : Y.encodeStateAsUpdate(this.doc, stateVector)
  }

  /** Applies awareness entries; returns whether any of them changed something. */
  private applyAwareness(conn: Connection | null, entries: AwarenessEntry[]): boolean {
    let changed = false
    for (const entry of entries) {
      const current = this.awareness.get(entry.clientId)
      if (current) {
        const newer = entry.clock > current.clock
        const sameClockRemoval = entry.clock === current.clock && entry.removed && current.bytes !== null
        // Stock y-websocket clients send every peer's state back to us as they learn it:
        // nothing new, so skipped quietly, before any check that would count an offence.
        if (!newer && !sameClockRemoval) continue
      }
      if (conn) {
        const problem = this.awarenessProblem(conn, entry, current)
        if (problem) {
          conn.offences++
          this.options.log.warn({ room: this.id, conn: conn.id, clientId: entry.clientId, problem }, 'dropped awareness update')
          if (conn.offences > this.options.limits.maxOffences) {
            throw new SyncError('malformed', `malformed message: too many invalid awareness updates (${problem})`)
          }
          continue
        }
      }
      if (entry.removed) {
        this.awareness.set(entry.clientId, { clock: entry.clock, bytes: null, owner: null })
        conn?.awarenessClients.delete(entry.clientId)
      } else {
        // Copy: the entry is a view into the whole received frame.
        this.awareness.set(entry.clientId, { clock: entry.clock, bytes: entry.bytes.slice(), owner: conn })
        conn?.awarenessClients.set(entry.clientId, entry.clock)
      }
      this.pendingAwareness.set(entry.clientId, { bytes: entry.bytes, from: conn })
      changed = true
    }
    if (changed) {
      this.awarenessFrameCache = null
      this.requestFlush()
    }
    return changed
  }

  private awarenessProblem(conn: Connection, entry: AwarenessEntry, current: AwarenessState | undefined): string | null {
    if (current?.owner && current.owner !== conn && !current.owner.closed) {
      return `client ${entry.clientId} belongs to another connection`
    }
    const maxBytes = this.options.limits.maxAwarenessBytes
    if (entry.bytes.length > maxBytes) return `awareness state is ${entry.bytes.length} bytes; the limit is ${maxBytes}`
    const rules = this.options.rules
    if ((!rules && !conn.readOnly) || entry.removed) return null
    let state: unknown
    try {
      state = JSON.parse(entry.state())
    } catch {
      return 'awareness state is not JSON'
    }
    if (conn.readOnly && typeof state === 'object' && state !== null) {
      // A viewer shows a cursor and a name, nothing else.
      const extra = Object.keys(state).filter((k) => k !== PRESENCE_FIELD && k !== USER_FIELD)
      if (extra.length > 0) return `a view-only connection may only share presence and user, not ${extra.join(', ')}`
    }
    return rules ? rules.awarenessProblem(entry.clientId, state) : null
  }

  /** All current awareness states as one frame, or null when nobody has one. */
  private awarenessFrame(): Uint8Array | null {
    if (this.awarenessFrameCache) return this.awarenessFrameCache
    const entries: Uint8Array[] = []
    for (const state of this.awareness.values()) if (state.bytes) entries.push(state.bytes)
    if (entries.length === 0) return null
    return (this.awarenessFrameCache = encodeAwareness(entries))
  }

  /**
   * The first change after a quiet spell goes out at the end of this event-loop turn; while
   * changes keep coming, a room sends at most every `flushIntervalMs`, so each send to each
   * peer carries several of them (one system call per peer per flush is what costs).
   */
  private requestFlush(): void {
    if (this.flushRequested) return
    this.flushRequested = true
    const wait = this.lastFlushAt + (this.options.flushIntervalMs ?? 0) - Date.now()
    if (wait <= 0) {
      this.options.requestFlush(this)
      return
    }
    const timer = setTimeout(() => this.options.requestFlush(this), wait)
    timer.unref()
  }

  private lastFlushAt = 0

  /** Stores and sends what this turn produced. Flushes run one after another. */
  flush(): Promise<void> {
    this.flushRequested = false
    this.lastFlushAt = Date.now()
    const updates = this.pendingUpdates
    const awareness = this.pendingAwareness
    const afterAppend = this.afterAppend
    if (updates.length === 0 && awareness.size === 0 && afterAppend.length === 0) return this.flushChain
    this.pendingUpdates = []
    this.pendingAwareness = new Map()
    this.afterAppend = []
    // Awareness is not stored, so it need not wait for the store.
    if (awareness.size > 0) {
      this.broadcastAwareness(awareness)
      const replicate = this.options.replicate
      if (replicate) {
        const local: Uint8Array[] = []
        for (const p of awareness.values()) if (p.from !== null) local.push(p.bytes)
        if (local.length > 0) replicate.awarenessChanged(this, local)
      }
    }
    this.flushChain = this.flushChain.then(() => this.storeAndSend(updates, afterAppend))
    return this.flushChain
  }

  private async storeAndSend(updates: PendingUpdate[], afterAppend: Array<() => void>): Promise<void> {
    if (this.state === 'failed' || this.state === 'closed') return
    this.storing++
    try {
      await this.storeAndSendNow(updates, afterAppend)
    } finally {
      this.storing--
    }
  }

  private async storeAndSendNow(updates: PendingUpdate[], afterAppend: Array<() => void>): Promise<void> {
    if (updates.length > 0) {
      const { store, observeAppendSeconds } = this.options
      try {
        for (const { update, remote } of updates) {
          if (remote) continue
          const started = performance.now()
          await store.append(this.id, update)
          observeAppendSeconds?.((performance.now() - started) / 1000)
          this.logEntries++
          this.logBytes += update.length
        }
      } catch (err) {
        this.fail(new SyncError('storeFailed', 'the server could not save changes; reconnect to resend them', { cause: err }))
        return
      }
      this.broadcastUpdates(updates)
      const local = updates.filter((u) => !u.remote).map((u) => u.update)
      if (local.length > 0) this.options.replicate?.updatesStored(this, local)
    }
    for (const reply of afterAppend) {
      try {
        reply()
      } catch (err) {
        this.options.log.warn({ err, room: this.id }, 'deferred reply failed')
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
  private broadcastUpdates(updates: PendingUpdate[]): void {
    if (updates.length === 1 || this.connections.size <= MERGE_UPDATES_ABOVE_PEERS) {
      const frames = updates.map((u) => encodeUpdate(u.update))
      for (const conn of this.connections) {
        for (let i = 0; i < updates.length; i++) if (updates[i]!.from !== conn) conn.send(frames[i]!)
      }
      return
    }
    const outgoing = updates.map((u) => ({ from: u.from, item: u.update }))
    fanOut(outgoing, this.connections, updateCodec as FanOutCodec<unknown>, sendFrame)
  }

  /**
   * One frame with every changed awareness entry, to every peer. A sender's own entry rides
   * along in a frame it gets anyway, and y-protocols ignores a client's own state at the
   * same clock, so that costs bytes, never a send; a peer that sent everything in the batch
   * gets nothing. (Updates, which Yjs would apply again, never go back to their sender.)
   */
  private broadcastAwareness(pending: Map<number, { bytes: Uint8Array; from: Connection | null }>): void {
    const entries: Uint8Array[] = []
    let onlySender: Connection | null | undefined
    for (const p of pending.values()) {
      entries.push(p.bytes)
      onlySender = onlySender === undefined || onlySender === p.from ? p.from : null
    }
    const frame = encodeAwareness(entries)
    for (const conn of this.connections) if (conn !== onlySender) conn.send(frame)
  }

  /** Replaces the stored log by one snapshot of the document. */
  async compact(): Promise<void> {
    if (this.logEntries <= 1) return
    const state = this.encodedState()
    await this.options.store.compact(this.id, state)
    this.logEntries = 1
    this.logBytes = state.length
  }

  /** Compacts to `state` after what is already queued is stored (updates not yet stored are in it too). */
  private compactWith(state: Uint8Array): void {
    this.logEntries = 1
    this.logBytes = state.length
    this.flushChain = this.flushChain.then(async () => {
      try {
        await this.options.store.compact(this.id, state)
      } catch (err) {
        this.options.log.error({ err, room: this.id }, 'compaction failed; the log stays as it was')
      }
    })
  }

  /** Waits for everything received so far to be stored. */
  async settle(): Promise<void> {
    await this.flush()
  }

  /** Flushes, compacts and frees the room. The caller has checked that nobody is in it. */
  async unload(): Promise<void> {
    this.state = 'unloading'
    try {
      await this.flush()
      await this.compact()
    } finally {
      this.state = 'closed'
      // Kept (destroyed) so late readers of `doc` do not look at a dormant room.
      this.liveDoc?.destroy()
    }
  }

  /** Something went wrong that makes this room unsafe to keep serving: drop everyone. */
  fail(error: SyncError): void {
    if (this.state === 'failed') return
    this.state = 'failed'
    this.options.log.error({ err: error.cause ?? error, room: this.id }, error.message)
    for (const conn of this.connections) conn.close(CloseCode.InternalError, error.message)
  }
}
