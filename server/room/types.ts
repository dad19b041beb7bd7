/** What a Room is made with: the options, limits and hooks the server wires in. */
import type { Logger } from 'pino'
import type { BoardEvent } from '../../lib/protocol'
import type { BoardRules } from '../board/BoardRules'
import type { Store } from '../storage/Store'
import type { Room } from './Room'
import type { StoreMonitor } from './StoreMonitor'
import type { IntakeLimits } from './UpdateIntake'
import type { VersionPolicy } from './VersionKeeper'

export interface RoomLimits extends IntakeLimits {
  /** Largest awareness state (one client's entry). */
  maxAwarenessBytes: number
  /** Connections per room; the next joiner is closed with 4413. */
  maxConnections: number
}

/** Hears a room's local changes so other instances can get them (the Bus). */
export interface RoomReplication {
  /** Local updates, once stored. */
  updatesStored(room: Room, updates: Uint8Array[]): void
  /** Local awareness entries, as relayed. */
  awarenessChanged(room: Room, entries: Uint8Array[]): void
  /** The board's catalog row changed here (links reset, trash): instances that have it loaded read it again. */
  boardChanged?(roomId: string): void
  /** Someone restored a version here: instances that have the room loaded tell their clients too. */
  restored?(room: Room, event: BoardEvent['restored']): void
}

export interface RoomOptions {
  store: Store
  /** This room's logger: every line already says which room, by its tag, never its id. */
  log: Logger
  /** What logs call this room (see sync/roomTags.ts): its id is a capability. */
  tag: string
  /** Asks for `room.flush()` to be called: the FlushScheduler decides when. */
  requestFlush(room: Room): void
  /** Compact the stored log into one snapshot once it holds this many bytes or entries. */
  compactAfterBytes: number
  compactAfterEntries: number
  observeAppendSeconds?: (seconds: number) => void
  replicate?: RoomReplication
  /** tldraw's rules for `records` and `meta`; without them the room relays any Yjs content. */
  rules?: BoardRules
  limits: RoomLimits
  /** Hears of store failures and recoveries, for health and metrics. */
  monitor?: StoreMonitor
  /** Retry delays while the store refuses appends (default 250 ms doubling to 5 s). */
  storeRetryMs?: { first: number; max: number }
  /** When the board's versions are taken and how long they are kept; without it, none are. */
  versions?: VersionPolicy
}
