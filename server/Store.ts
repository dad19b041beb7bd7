/**
 * Where rooms are kept. Every implementation runs the same contract suite
 * (`server/Store.contract.ts`).
 *
 * The server calls `append` for every update before relaying it to anyone, and
 * `compact` with a state that includes every update this process appended to the room.
 */
export interface Store {
  /** All stored updates of a room merged into one, or null for a room never written. */
  load(roomId: string): Promise<StoredRoom | null>
  /** Durably records one update of a room. Resolves once it would survive a process kill. */
  append(roomId: string, update: Uint8Array): Promise<void>
  /** Replaces the room's log by one snapshot, atomically: a crash leaves the old log or the new snapshot. */
  compact(roomId: string, state: Uint8Array): Promise<void>
  close(): Promise<void>
}

export interface StoredRoom {
  /** The room's content as one Yjs update (v1). */
  update: Uint8Array
  /** How many log entries and bytes made it up, so the room knows when to compact. */
  entries: number
  bytes: number
}
