import type { Logger } from 'pino'
import { PRESENCE_FIELD, USER_FIELD } from '../../lib/presence'
import type { BoardRules } from '../board/BoardRules'
import { SyncError } from '../errors'
import { type AwarenessEntry, encodeAwareness, encodeAwarenessRemoval } from '../protocol/messages'
import type { Peer } from './Peer'

interface ClientState {
  clock: number
  /** The client's entry as received, or null once it left (kept so stale updates stay stale). */
  bytes: Uint8Array | null
  owner: Peer | null
}

export interface AwarenessTableOptions {
  /** Largest awareness state (one client's entry). */
  maxAwarenessBytes: number
  /** tldraw's rules for presence; without them any JSON state is relayed. */
  rules?: BoardRules
  log: Logger
  /** An entry to send to the room: a changed state, or a removal. `from` does not need it back. */
  onChange(clientId: number, entry: Uint8Array, from: Peer | null): void
}

/**
 * Who is in the room and where their cursor is: the latest awareness entry per client id,
 * its clock, and which connection speaks for it. Entries stay raw bytes, so relaying never
 * re-encodes a state; only the checks look inside.
 *
 * A connection owns the client ids it introduced: another connection may not speak for
 * them while it is open, and they are announced as gone when it leaves.
 *
 * @example
 * table.apply(peer, parseAwarenessUpdate(payload))
 * peer.send(table.frame() ?? KEEPALIVE_FRAME)
 */
export class AwarenessTable {
  private readonly clients = new Map<number, ClientState>()
  /** Per connection: the client ids it introduced, with their last clock. */
  private readonly owned = new Map<Peer, Map<number, number>>()
  private frameCache: Uint8Array | null = null

  constructor(private readonly options: AwarenessTableOptions) {}

  /**
   * Applies awareness entries from `from` (null: another instance, already checked there);
   * returns whether any of them changed something. Throws SyncError once the sender has
   * had more refused entries than it may.
   */
  apply(from: Peer | null, entries: AwarenessEntry[]): boolean {
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
      if (from) {
        const problem = this.problem(from, entry, current)
        if (problem) {
          const tooMany = from.offend()
          this.options.log.warn({ conn: from.id, clientId: entry.clientId, problem }, 'dropped awareness update')
          if (tooMany) throw new SyncError('malformed', `malformed message: too many invalid awareness updates (${problem})`)
          continue
        }
      }
      const owned = from ? this.ownedBy(from) : null
      if (entry.removed) {
        this.clients.set(entry.clientId, { clock: entry.clock, bytes: null, owner: null })
        owned?.delete(entry.clientId)
      } else {
        // Copy: the entry is a view into the whole received frame.
        this.clients.set(entry.clientId, { clock: entry.clock, bytes: entry.bytes.slice(), owner: from })
        owned?.set(entry.clientId, entry.clock)
      }
      this.frameCache = null
      this.options.onChange(entry.clientId, entry.bytes, from)
      changed = true
    }
    return changed
  }

  /** `peer` left: every client it spoke for is announced as gone. */
  leave(peer: Peer): void {
    const owned = this.owned.get(peer)
    this.owned.delete(peer)
    if (!owned) return
    for (const clientId of owned.keys()) {
      const current = this.clients.get(clientId)
      if (!current || current.owner !== peer || current.bytes === null) continue
      this.clients.set(clientId, { clock: current.clock + 1, bytes: null, owner: null })
      this.frameCache = null
      this.options.onChange(clientId, encodeAwarenessRemoval(clientId, current.clock), peer)
    }
  }

  /** All current states as one frame, or null when nobody has one. */
  frame(): Uint8Array | null {
    if (this.frameCache) return this.frameCache
    const entries: Uint8Array[] = []
    for (const state of this.clients.values()) if (state.bytes) entries.push(state.bytes)
    if (entries.length === 0) return null
    return (this.frameCache = encodeAwareness(entries))
  }

  private ownedBy(peer: Peer): Map<number, number> {
    let owned = this.owned.get(peer)
    if (!owned) this.owned.set(peer, (owned = new Map()))
    return owned
  }

  private problem(from: Peer, entry: AwarenessEntry, current: ClientState | undefined): string | null {
    if (current?.owner && current.owner !== from && !current.owner.closed) {
      return `client ${entry.clientId} belongs to another connection`
    }
    const { maxAwarenessBytes, rules } = this.options
    if (entry.bytes.length > maxAwarenessBytes) return `awareness state is ${entry.bytes.length} bytes; the limit is ${maxAwarenessBytes}`
    if ((!rules && !from.readOnly) || entry.removed) return null
    let state: unknown
    try {
      state = JSON.parse(entry.state())
    } catch {
      return 'awareness state is not JSON'
    }
    if (from.readOnly && typeof state === 'object' && state !== null) {
      // A viewer shows a cursor and a name, nothing else.
      const extra = Object.keys(state).filter((k) => k !== PRESENCE_FIELD && k !== USER_FIELD)
      if (extra.length > 0) return `a view-only connection may only share presence and user, not ${extra.join(', ')}`
    }
    return rules ? rules.awarenessProblem(entry.clientId, state) : null
  }
}
