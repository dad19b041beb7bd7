import zlib from 'node:zlib'
import * as Y from 'yjs'
import type { BoardRules } from '../board/BoardRules'
import type { BoardWatcher } from '../board/BoardWatcher'
import { RecordsGuard } from '../board/RecordsGuard'
import { META_KEY, TITLE_KEY } from '../../lib/board'
import { CORRECTION, LOADING } from '../board/origins'
import { readBoard } from '../board/readBoard'
import { SyncError } from '../errors'
import { encodeSyncStep1, encodeSyncStep2 } from '../protocol/messages'
import { deletionsUpdate, isEmptyStateVector, transactionChanged, transactionChangedFor } from '../protocol/updates'

/** Transaction origin of updates from other instances. */
export const REMOTE = 'remote'

/**
 * A room's document, live or dormant, and the frames every joiner gets, encoded once.
 *
 * A live document is a Y.Doc (several times its encoded size in memory). A dormant one is
 * only its encoded state, deflated (tldraw records are JSON: a few times smaller again), and
 * its state vector: it still answers joins, state vectors and diffs without waking, and the
 * first change brings the Y.Doc back. A live document caches the encoded full state and
 * state vector for joiners until it changes; a dormant one inflates its state per join
 * (a fraction of a millisecond per 100 KB) rather than keep it whole.
 *
 * @example
 * const document = new RoomDocument(rules)
 * document.loadStored(stored.update)
 * peer.send(document.stateVectorFrame())
 */
export class RoomDocument {
  private liveDoc: Y.Doc | null = null
  /** While dormant: the whole document, encoded and deflated. */
  private packedState: Buffer | null = null
  /** While dormant: its state vector (anti-entropy asks for it often). */
  private dormantVector: Uint8Array | null = null
  private fullFrame: Uint8Array | null = null
  private vectorFrame: Uint8Array | null = null
  private boardWatcher: BoardWatcher | null = null
  private recordsGuard: RecordsGuard | null = null
  private lastChangeAt = Date.now()
  private changeCount = 0
  /** While an update applies: the only clients whose clocks it can move (see `touching`). */
  private touched: number[] | null = null
  /** What the server's own YKeyValue deleted (duplicate entries) since the last `takeOwnDeletions`. */
  private ownDeletions: Array<Y.Transaction['deleteSet']> = []

  constructor(private readonly rules?: BoardRules) {
    this.attach(new Y.Doc())
  }

  /** The Y.Doc, brought back to life first if the document was dormant. */
  get doc(): Y.Doc {
    if (!this.liveDoc) this.wake()
    return this.liveDoc!
  }

  get isDormant(): boolean {
    return this.liveDoc === null
  }

  /** While dormant: the whole document, encoded (inflated afresh on each call). */
  private dormantState(): Uint8Array {
    return zlib.inflateRawSync(this.packedState!)
  }

  /** Bumped by every transaction that changed the document. */
  get changes(): number {
    return this.changeCount
  }

  /** Collects rule violations as updates apply (null when the room has no board rules). */
  get watcher(): BoardWatcher | null {
    if (!this.liveDoc) this.wake()
    return this.boardWatcher
  }

  private attach(doc: Y.Doc): void {
    // Yjs encodes every transaction for 'update' listeners; we only need to know whether
    // one changed anything, which is the test Yjs itself uses before encoding.
    doc.on('afterTransactionCleanup', (tr: Y.Transaction) => {
      if (!(this.touched ? transactionChangedFor(tr, this.touched) : transactionChanged(tr))) return
      this.changeCount++
      this.lastChangeAt = Date.now()
      this.fullFrame = null
      this.vectorFrame = null
    })
    // Every peer's YKeyValue, this one's too, drops an entry that a later one for the same
    // key outranks, in a transaction of its own (no origin) right after the one that
    // brought it. Peers that saw the entries arrive in another order may never see both at
    // once, and so never drop it themselves: what this document drops must reach them.
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (tr.origin === null && tr.local && tr.deleteSet.clients.size > 0) this.ownDeletions.push(tr.deleteSet)
    })
    this.liveDoc = doc
    // Before the watcher: its YKeyValue must never see an entry that is not one.
    this.recordsGuard = this.rules ? new RecordsGuard(doc) : null
    this.boardWatcher = this.rules ? this.rules.watch(doc) : null
  }

  /** Applies what the store holds (validated when it was written) and keeps it as the joiners' frame. */
  loadStored(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, LOADING)
    // Duplicates in what is stored are dropped the same way by every peer that loads it.
    this.ownDeletions = []
    // The stored update is already a full state: joiners get it without re-encoding, unless
    // it held entries the guard took out (stored before it existed).
    this.fullFrame = this.takeGuarded() === 0 ? encodeSyncStep2(update) : null
  }

  /**
   * The deletions this document made itself since the last call (duplicate records dropped
   * by its YKeyValue), as one update to send everyone and store; null when there were none.
   */
  takeOwnDeletions(): Uint8Array | null {
    if (this.ownDeletions.length === 0) return null
    const deleteSet = this.ownDeletions.length === 1 ? this.ownDeletions[0]! : Y.mergeDeleteSets(this.ownDeletions)
    this.ownDeletions = []
    return deletionsUpdate(deleteSet)
  }

  /** Entries of `records` that were not entries, removed since the last call (see RecordsGuard). */
  takeGuarded(): number {
    return this.recordsGuard?.take() ?? 0
  }

  /**
   * Runs `apply` (one update's transaction) telling the change check which clients the
   * update carries, so it looks at those, not at every client the board ever had.
   */
  touching(clients: number[], apply: () => void): void {
    this.touched = clients
    try {
      if (this.recordsGuard) this.recordsGuard.limitTo(clients, apply)
      else apply()
    } finally {
      this.touched = null
    }
  }

  /**
   * Deletes the shared types among `ids` (just applied) that sit more than `maxDepth`
   * types deep, in a correcting transaction; returns how many. A browser walks nested
   * types recursively in places (deleting one, reading it), so depth must stay far below
   * its stack.
   */
  removeTooDeep(ids: Y.ID[], maxDepth: number): number {
    if (ids.length === 0 || !this.liveDoc) return 0
    const doc = this.liveDoc
    const tooDeep: Y.Item[] = []
    for (const id of ids) {
      let item: Y.Item | null
      try {
        item = Y.getItem(doc.store, id) as Y.Item
      } catch {
        continue // not integrated (waiting for what it depends on): checked when it is
      }
      if (!item.deleted && typeDepth(item, maxDepth) > maxDepth) tooDeep.push(item)
    }
    if (tooDeep.length > 0) Y.transact(doc, (tr) => tooDeep.forEach((item) => item.delete(tr)), CORRECTION)
    return tooDeep.length
  }

  /** The board's title and number of shapes (a dormant document is read without waking it). */
  summary(): { shapes: number; title: string } {
    if (!this.liveDoc) {
      const { records, title } = readBoard(this.dormantState())
      let shapes = 0
      for (const value of records.values()) if ((value as { typeName?: unknown } | null)?.typeName === 'shape') shapes++
      return { shapes, title }
    }
    let shapes = 0
    for (const entry of this.boardWatcher?.records.map.values() ?? []) {
      if ((entry as { val?: { typeName?: unknown } }).val?.typeName === 'shape') shapes++
    }
    const title = this.liveDoc.getMap(META_KEY).get(TITLE_KEY)
    return { shapes, title: typeof title === 'string' ? title : '' }
  }

  /** An update another instance stored and checked: applied as is. */
  applyRemote(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, REMOTE)
  }

  /** Sync step 1 with this document's state vector. */
  stateVectorFrame(): Uint8Array {
    return (this.vectorFrame ??= encodeSyncStep1(this.stateVector()))
  }

  /** The answer to a peer's sync step 1: sync step 2 with what it lacks. */
  answerStep1(stateVector: Uint8Array): Uint8Array {
    if (isEmptyStateVector(stateVector)) {
      if (this.liveDoc) return (this.fullFrame ??= encodeSyncStep2(this.encodedState()))
      return encodeSyncStep2(this.dormantState())
    }
    let diff: Uint8Array
    try {
      diff = this.diff(stateVector)
    } catch (err) {
      throw new SyncError('malformed', 'malformed message: state vector does not decode', { cause: err })
    }
    return encodeSyncStep2(diff)
  }

  /** The whole document encoded, without waking a dormant one. */
  encodedState(): Uint8Array {
    return this.liveDoc ? Y.encodeStateAsUpdate(this.liveDoc) : this.dormantState()
  }

  stateVector(): Uint8Array {
    return this.liveDoc ? Y.encodeStateVector(this.liveDoc) : this.dormantVector!
  }

  /** What this document has that a peer with `stateVector` lacks. */
  diff(stateVector: Uint8Array): Uint8Array {
    return this.liveDoc ? Y.encodeStateAsUpdate(this.liveDoc, stateVector) : Y.diffUpdate(this.dormantState(), stateVector)
  }

  /** Whether the document holds structs or deletions still waiting for changes they depend on. */
  hasIncomplete(): boolean {
    const store = this.liveDoc?.store
    return store !== undefined && (store.pendingStructs !== null || store.pendingDs !== null)
  }

  /**
   * Forgets structs and deletions whose dependencies never came. Yjs has no API for it: it
   * clears these two fields itself once they integrate, and this is the one place that
   * does the same for content that never will.
   */
  discardIncomplete(): void {
    const store = this.liveDoc?.store
    if (!store) return
    store.pendingStructs = null
    store.pendingDs = null
  }

  quietSince(now: number, ms: number): boolean {
    return now - this.lastChangeAt >= ms
  }

  /**
   * Keeps only the encoded state (deflated) and frees the Y.Doc; returns that state. The
   * caller has checked that nothing is in flight.
   */
  sleep(): Uint8Array {
    const doc = this.liveDoc!
    const state = Y.encodeStateAsUpdate(doc)
    this.dormantVector = Y.encodeStateVector(doc)
    const vectorFrame = this.vectorFrame ?? encodeSyncStep1(this.dormantVector)
    doc.destroy()
    this.liveDoc = null
    this.boardWatcher = null
    this.recordsGuard = null
    this.fullFrame = null
    // Level 1: as small as the default level within a few per cent on tldraw records, at a
    // quarter of the time (a sweep may put thousands of boards to sleep).
    this.packedState = zlib.deflateRawSync(state, { level: 1 })
    this.vectorFrame = vectorFrame
    return state
  }

  private wake(): void {
    const state = this.dormantState()
    const vectorFrame = this.vectorFrame
    this.attach(new Y.Doc())
    Y.applyUpdate(this.liveDoc!, state, LOADING)
    this.ownDeletions = []
    // Same content as before: the cached vector stays valid; the full frame is the state.
    this.vectorFrame = vectorFrame
    this.fullFrame = encodeSyncStep2(state)
    this.packedState = null
    this.dormantVector = null
  }

  /** Frees the Y.Doc for good (the room closed). */
  destroy(): void {
    this.liveDoc?.destroy()
  }
}

/** How many shared types `item` sits in (a root's direct child: 1), counted up to `limit + 1`. */
function typeDepth(item: Y.Item, limit: number): number {
  let depth = 1
  let parent = item.parent as Y.AbstractType<unknown> | null
  while (parent?._item && depth <= limit) {
    depth++
    parent = parent._item.parent as Y.AbstractType<unknown> | null
  }
  return depth
}
