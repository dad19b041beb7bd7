import type { Logger } from 'pino'
import { PRESENCE_FIELD, USER_FIELD } from '../../lib/presence'
import type { BoardRules } from '../board/BoardRules'
import { SyncError } from '../errors'
import { encodeAwarenessPayload } from '../protocol/busMessages'
import { type AwarenessEntry, encodeAwareness, encodeAwarenessRemoval, parseAwarenessUpdate } from '../protocol/messages'
import type { Peer } from './Peer'

interface ClientState {
  clock: number
  /** The client's entry as received, or null once it left (kept a while, so stale updates stay stale). */
  bytes: Uint8Array | null
  /** The local connection that speaks for it; null for a client of another instance, or one that left. */
  owner: Peer | null
  /** Its state came from another instance (over the bus). */
  remote: boolean
  /** When it left (ms), for forgetting it. */
  goneAt: number
}

/** The self-chosen name in an awareness state (`user.name`), trimmed and capped; null when none. */
function nameIn(state: unknown): string | null {
  const user = (state as { user?: { name?: unknown } } | null)?.user
  return typeof user?.name === 'string' && user.name.trim() ? user.name.trim().slice(0, 100) : null
}

export interface AwarenessTableOptions {
  /** Largest awareness state (one client's entry). */
  maxAwarenessBytes: number
  /** tldraw's rules for presence; without them any JSON state is relayed. */
  rules?: BoardRules
  log: Logger
  /** An entry to send to the room: a changed state, or a removal. `from` does not need it back. */
  onChange(clientId: number, entry: Uint8Array, from: Peer | null): void
  now?: () => number
}

/**
 * How long a client that left is remembered: longer than any stock client re-sends a
 * peer's removal (it does at once), so a late echo stays stale; then it is forgotten, so
 * clients that come and go leave nothing behind.
 */
const FORGET_GONE_AFTER_MS = 60_000

/**
 * Who is in the room and where their cursor is: the latest awareness entry per client id,
 * its clock, and which connection speaks for it. Entries stay raw bytes, so relaying never
 * re-encodes a state; only the checks look inside.
 *
 * A connection speaks for one awareness client, the first it introduces: it may not
 * announce others (a stock client's re-sends of peers it heard from us are not new, and
 * are skipped before any check), no other connection may speak for it while it is open,
 * and it is announced as gone when the connection leaves. A client of another instance
 * belongs to that instance: no local connection may speak for it, and the bus may not
 * speak for a local one. Removals of clients a connection does not own are ignored.
 *
 * @example
 * table.apply(peer, parseAwarenessUpdate(payload))
 * peer.send(table.frame() ?? KEEPALIVE_FRAME)
 */
export class AwarenessTable {
  private readonly clients = new Map<number, ClientState>()
  /** Per connection: the one client id it speaks for. */
  private readonly owned = new Map<Peer, number>()
  private frameCache: Uint8Array | null = null
  private forgottenAt = 0
  /** Names read out of states, by the state's bytes (a new state is a new key). */
  private readonly names = new WeakMap<Uint8Array, string | null>()
  /** The state the last check parsed (undefined: it did not need to). */
  private checkedState: unknown = undefined

  constructor(private readonly options: AwarenessTableOptions) {}

  private now(): number {
    return this.options.now?.() ?? Date.now()
  }

  /**
   * Applies awareness entries from `from` (null: another instance, checked there); returns
   * whether any of them changed something. Throws SyncError once the sender has had more
   * refused entries than it may.
   */
  apply(from: Peer | null, entries: AwarenessEntry[]): boolean {
    this.forgetGone()
    let changed = false
    for (const entry of entries) {
      const current = this.clients.get(entry.clientId)
      if (current) {
        const newer = entry.clock > current.clock
        const sameClockRemoval = entry.clock === current.clock && entry.removed && current.bytes !== null
        // Stock y-websocket clients send every peer's state back to us as they learn it:
        // nothing new, so skipped quietly, before any check that would count an offence.
        if (!newer && !sameClockRemoval) continue
      }
      if (from ? !this.acceptLocal(from, entry, current) : !this.acceptRemote(entry, current)) continue
      if (entry.removed) {
        this.clients.set(entry.clientId, { clock: entry.clock, bytes: null, owner: null, remote: false, goneAt: this.now() })
        if (from) this.owned.delete(from)
      } else {
        // Copy: the entry is a view into the whole received frame.
        const bytes = entry.bytes.slice()
        if (from && this.checkedState !== undefined) this.names.set(bytes, nameIn(this.checkedState))
        this.clients.set(entry.clientId, { clock: entry.clock, bytes, owner: from, remote: !from, goneAt: 0 })
        if (from) this.owned.set(from, entry.clientId)
      }
      this.frameCache = null
      this.options.onChange(entry.clientId, entry.bytes, from)
      changed = true
    }
    return changed
  }

  /** Whether a local connection may say this; counts the refusals that are offences. */
  private acceptLocal(from: Peer, entry: AwarenessEntry, current: ClientState | undefined): boolean {
    if (entry.removed) {
      // Only the owner takes its client away; anyone else's removal (a stock client that
      // timed a peer out) is the server's business, not an offence.
      return this.owned.get(from) === entry.clientId && current?.owner === from
    }
    const problem = this.problem(from, entry, current)
    if (!problem) return true
    const tooMany = from.offend()
    this.options.log.warn({ conn: from.id, clientId: entry.clientId, problem }, 'dropped awareness update')
    if (tooMany) throw new SyncError('malformed', `malformed message: too many invalid awareness updates (${problem})`)
    return false
  }

  /** Another instance's word about one of its clients: never about a client a local connection speaks for. */
  private acceptRemote(entry: AwarenessEntry, current: ClientState | undefined): boolean {
    return !(current?.owner && !current.owner.closed)
  }

  /** `peer` left: the client it spoke for is announced as gone. */
  leave(peer: Peer): void {
    const clientId = this.owned.get(peer)
    this.owned.delete(peer)
    if (clientId === undefined) return
    const current = this.clients.get(clientId)
    if (!current || current.owner !== peer || current.bytes === null) return
    this.clients.set(clientId, { clock: current.clock + 1, bytes: null, owner: null, remote: false, goneAt: this.now() })
    this.frameCache = null
    this.options.onChange(clientId, encodeAwarenessRemoval(clientId, current.clock), peer)
  }

  /** All current states as one frame, or null when nobody has one. */
  frame(): Uint8Array | null {
    if (this.frameCache) return this.frameCache
    const entries: Uint8Array[] = []
    for (const state of this.clients.values()) if (state.bytes) entries.push(state.bytes)
    if (entries.length === 0) return null
    return (this.frameCache = encodeAwareness(entries))
  }

  /**
   * The self-chosen name `peer` shows in its awareness (`user.name`), for a version's list
   * of editors; null when it shows none.
   */
  nameOf(peer: Peer): string | null {
    const clientId = this.owned.get(peer)
    const bytes = clientId === undefined ? null : this.clients.get(clientId)?.bytes
    if (!bytes) return null
    const cached = this.names.get(bytes)
    if (cached !== undefined) return cached
    let name: string | null = null
    try {
      name = nameIn(JSON.parse(parseAwarenessUpdate(encodeAwarenessPayload([bytes]))[0]!.state()))
    } catch {
      name = null
    }
    this.names.set(bytes, name)
    return name
  }

  /** Client ids the table holds, gone ones included (for tests and metrics). */
  get size(): number {
    return this.clients.size
  }

  private forgetGone(): void {
    const now = this.now()
    if (now - this.forgottenAt < FORGET_GONE_AFTER_MS / 4) return
    this.forgottenAt = now
    for (const [clientId, state] of this.clients) {
      if (state.bytes === null && now - state.goneAt > FORGET_GONE_AFTER_MS) this.clients.delete(clientId)
    }
  }

  private problem(from: Peer, entry: AwarenessEntry, current: ClientState | undefined): string | null {
    this.checkedState = undefined
    if (current?.bytes && current.owner && current.owner !== from && !current.owner.closed) {
      return `client ${entry.clientId} belongs to another connection`
    }
    if (current?.bytes && current.remote) return `client ${entry.clientId} belongs to a connection on another instance`
    const own = this.owned.get(from)
    if (own !== undefined && own !== entry.clientId) {
      return `a connection speaks for one awareness client (this one is ${own}), not also for ${entry.clientId}`
    }
    const { maxAwarenessBytes, rules } = this.options
    if (entry.bytes.length > maxAwarenessBytes) return `awareness state is ${entry.bytes.length} bytes; the limit is ${maxAwarenessBytes}`
    if (!rules && !from.readOnly) return null
    let state: unknown
    try {
      state = JSON.parse(entry.state())
    } catch {
      return 'awareness state is not JSON'
    }
    this.checkedState = state
    if (from.readOnly && typeof state === 'object' && state !== null) {
      // A viewer shows a cursor and a name, nothing else.
      const extra = Object.keys(state).filter((k) => k !== PRESENCE_FIELD && k !== USER_FIELD)
      if (extra.length > 0) return `a view-only connection may only share presence and user, not ${extra.join(', ')}`
    }
    return rules ? rules.awarenessProblem(entry.clientId, state) : null
  }
}
