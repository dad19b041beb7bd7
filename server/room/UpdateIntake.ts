import type { Logger } from 'pino'
import * as Y from 'yjs'
import { SyncError } from '../errors'
import { checkUpdateV1, ownBytes } from '../protocol/updates'
import type { Peer } from './Peer'
import { REMOTE, type RoomDocument } from './RoomDocument'

/** An update to store and send to the room: as received, or the server's own. */
export interface Relay {
  update: Uint8Array
  /** Who sent it (it does not get it back); null for the server's corrections and completions. */
  from: Peer | null
}

/** The part of the store bookkeeping the size limit needs (the Outbox's). */
export interface LogSize {
  /** Bytes of the stored log: an over-count until compaction, never an under-count. */
  readonly bytes: number
  /** Replaces the stored log by `state` once what is queued is stored. */
  compactTo(state: Uint8Array): void
}

export interface IntakeLimits {
  /** Refuse updates that would grow the stored document past this. */
  maxDocBytes: number
  /** How deep values and shared types may nest (a browser's stack must take the board). */
  maxDepth: number
  /** New Yjs client ids one update may bring, and a board may hold. */
  maxNewClientsPerUpdate: number
  maxClientsPerBoard: number
  /** How long an update may wait for changes it depends on before its sender is cut off. */
  pendingTimeoutMs: number
}

export interface IntakeOptions {
  document: RoomDocument
  log: LogSize
  limits: IntakeLimits
  logger: Logger
  /**
   * Held-back updates timed out: `relay` is what did integrate meanwhile (to store and
   * send), `sender` the connection to cut off.
   */
  onGaveUp(relay: Relay, sender: Peer): void
}

/**
 * Everything between "a peer sent an update" and "this goes to the store and the room":
 * the size limit, the strict decode, applying it, reverting what breaks the board rules,
 * holding back updates whose dependencies have not arrived, and passing on what the
 * document changed by itself meanwhile (duplicate records its YKeyValue dropped).
 *
 * @example
 * const relays = intake.apply(peer, update) // throws SyncError for the sender
 * for (const relay of relays) outbox.queueUpdate(relay)
 */
export class UpdateIntake {
  /** Set while the doc holds structs whose dependencies have not arrived. */
  private held: { since: Uint8Array; sender: Peer; timer: NodeJS.Timeout } | null = null

  constructor(private readonly options: IntakeOptions) {}

  /** Whether updates are held back, waiting for what they depend on. */
  get waiting(): boolean {
    return this.held !== null
  }

  /**
   * Applies one update from `from` and returns what to relay and store, in order: nothing
   * when it changed nothing (or is held back). Throws SyncError for the sender: malformed,
   * over the size limit, or too many refused changes.
   */
  apply(from: Peer, received: Uint8Array): Relay[] {
    const { document, log, limits } = this.options
    if (log.bytes + received.length > limits.maxDocBytes) {
      // The log over-counts (overwritten values stay in it until compaction): measure for real.
      const state = Y.encodeStateAsUpdate(document.doc)
      if (state.length + received.length > limits.maxDocBytes) {
        throw new SyncError('limit', `this board has reached its size limit of ${limits.maxDocBytes} bytes`)
      }
      log.compactTo(state)
    }
    // Decoding first means a bad update is refused whole, never half applied.
    // An empty one (every client's first sync step 2 to a board it lacks nothing of) changes nothing.
    const info = checkUpdateV1(received, { maxDepth: limits.maxDepth })
    if (info.empty) return []
    const doc = document.doc
    this.checkClients(info.clients, doc)
    const update = ownBytes(received)
    const wasHeld = this.held !== null
    const changesBefore = document.changes
    let beforeState = new Map<number, number>()
    // The transaction Yjs would open for a remote update, opened here to keep the state it
    // started from (Yjs computes it anyway) for the slow paths below; encoded only there.
    document.touching(info.clients, () => {
      beforeState = transactFrom(doc, from, false, () => Y.applyUpdate(doc, update, from))
    })
    const before = () => Y.encodeStateVector(beforeState)

    const watcher = document.watcher
    const violations = watcher?.take() ?? []
    // Shared types nested past the limit, and `records` entries that are none, are taken out
    // again, as a board rule's violation would be.
    const deep = document.removeTooDeep(info.types, limits.maxDepth) + document.takeGuarded()
    let tooMany = deep > 0 && from.offend(deep)
    if (deep > 0)
      this.options.logger.warn(
        { conn: from.id, count: deep },
        'removed content no browser could load (nested too deep, or not a records entry)',
      )
    if (violations.length > 0) {
      watcher!.revert(violations)
      tooMany = from.offend(violations.length) || tooMany
      this.options.logger.warn(
        {
          conn: from.id,
          violations: violations.slice(0, 5).map((v) => `${v.key}: ${v.reason}`),
          count: violations.length,
        },
        'reverted invalid changes',
      )
    }
    let relay: Relay | null = null
    if (document.hasIncomplete()) {
      // Held back (corrections included) until the missing changes arrive.
      if (!this.held) this.holdBack(from, before())
    } else if (wasHeld) {
      // Completed what was waiting: send everything since it started.
      relay = { update: Y.encodeStateAsUpdate(doc, this.release()), from: null }
    } else if (violations.length > 0 || deep > 0) {
      // Send what actually changed, sender included, so reverted content never leaves the
      // server and everyone converges on the valid state.
      relay = { update: Y.encodeStateAsUpdate(doc, before()), from: null }
    } else if (document.changes !== changesBefore) {
      // The fast path: relay and store the bytes as received.
      relay = { update, from }
    }
    const relays = relay ? [relay] : []
    // The other paths' diffs carry every deletion of the document, these included.
    const own = document.takeOwnDeletions()
    if (own && relay?.from) relays.push({ update: own, from: null })
    if (tooMany) throw new TooManyRefused(relays, `malformed message: too many invalid changes (${from.offences})`)
    return relays
  }

  /**
   * Applies the server's own change (a restore) as one transaction: checked by the board
   * rules like anyone's, and returned as what to store and send to everyone.
   */
  applyLocal(change: (doc: Y.Doc) => void): Relay | null {
    const { document } = this.options
    const doc = document.doc
    const changesBefore = document.changes
    const beforeState = transactFrom(doc, SERVER_CHANGE, true, () => change(doc))
    const watcher = document.watcher
    const violations = watcher?.take() ?? []
    if (violations.length > 0) {
      watcher!.revert(violations)
      this.options.logger.warn({ violations: violations.length }, 'reverted invalid records of a restore')
    }
    document.takeOwnDeletions() // in the diff below
    if (document.changes === changesBefore) return null
    return { update: Y.encodeStateAsUpdate(doc, Y.encodeStateVector(beforeState)), from: null }
  }

  /**
   * Every browser tab that edits a board brings a Yjs client id, and Yjs's own bookkeeping
   * costs time per client id on every change: an update may bring only a few new ones, and
   * a board only so many in all, or one update could make every later change slow.
   */
  private checkClients(clients: number[], doc: Y.Doc): void {
    const { maxNewClientsPerUpdate, maxClientsPerBoard } = this.options.limits
    const known = doc.store.clients
    let fresh = 0
    for (const client of clients) if (!known.has(client)) fresh++
    if (fresh === 0) return
    if (fresh > maxNewClientsPerUpdate) {
      throw new SyncError('limit', `this change brings ${fresh} new Yjs clients at once; the limit is ${maxNewClientsPerUpdate}`)
    }
    if (known.size + fresh > maxClientsPerBoard) {
      throw new SyncError('limit', `this board has been edited from ${known.size} browser sessions, its limit (MAX_CLIENTS_PER_BOARD)`)
    }
  }

  /**
   * Applies an update another instance stored. Nothing read from the bus is trusted: what
   * breaks the board rules is reverted here too, and `correction` (to store and send to
   * everyone, in place of the update) carries the result. `changed` says whether the
   * document moved at all; `ownDeletions` (to store and send to everyone after the update)
   * what this document then dropped by itself.
   */
  applyRemote(update: Uint8Array): { changed: boolean; correction: Relay | null; ownDeletions: Relay | null } {
    const { document } = this.options
    const doc = document.doc
    const changesBefore = document.changes
    const beforeState = transactFrom(doc, REMOTE, false, () => document.applyRemote(update))
    const watcher = document.watcher
    const violations = watcher?.take() ?? []
    const guarded = document.takeGuarded()
    const own = document.takeOwnDeletions()
    if (violations.length === 0 && guarded === 0) {
      const ownDeletions = own ? { update: own, from: null } : null
      return { changed: document.changes !== changesBefore, correction: null, ownDeletions }
    }
    if (violations.length > 0) watcher!.revert(violations)
    this.options.logger.warn({ violations: violations.length }, 'reverted invalid changes that came from another instance')
    const correction = { update: Y.encodeStateAsUpdate(doc, Y.encodeStateVector(beforeState)), from: null }
    return { changed: true, correction, ownDeletions: null }
  }

  /**
   * The doc holds structs whose dependencies have not arrived (normal for a moment after a
   * reconnect). They are neither relayed nor stored until complete; if they stay
   * incomplete, the sender is cut off and they are dropped.
   */
  private holdBack(sender: Peer, since: Uint8Array): void {
    const timer = setTimeout(() => {
      if (this.held?.timer !== timer) return
      this.options.document.discardIncomplete()
      // What did integrate while waiting still goes out and into the store.
      const update = Y.encodeStateAsUpdate(this.options.document.doc, this.release())
      this.options.onGaveUp({ update, from: null }, sender)
    }, this.options.limits.pendingTimeoutMs)
    timer.unref()
    this.held = { since, sender, timer }
  }

  private release(): Uint8Array {
    const { since, timer } = this.held!
    clearTimeout(timer)
    this.held = null
    return since
  }

  /** The room is closing: nothing more will complete. */
  stop(): void {
    if (this.held) clearTimeout(this.held.timer)
    this.held = null
  }
}

/** Transaction origin of the server's own changes (restores): checked by the board rules like any. */
const SERVER_CHANGE = Symbol('sketchroom-server-change')

/**
 * The sender passed its allowance of refused changes. What it did change validly still
 * has to go out (`relay`), before the sender is closed.
 */
export class TooManyRefused extends SyncError {
  constructor(
    readonly relays: Relay[],
    message: string,
  ) {
    super('malformed', message)
  }
}

/**
 * Runs `apply` in one transaction of `doc` (nested Yjs calls join it) and returns the
 * state it started from, which Yjs computes for every transaction anyway.
 */
function transactFrom(doc: Y.Doc, origin: unknown, local: boolean, apply: () => void): Map<number, number> {
  let beforeState = new Map<number, number>()
  Y.transact(
    doc,
    (tr) => {
      beforeState = tr.beforeState
      apply()
    },
    origin,
    local,
  )
  return beforeState
}
