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
  /** Drops any per-room bookkeeping once the room is unloaded (optional). */
  forget?(roomId: string): void
}

export interface StoredRoom {
  /** The room's content as one Yjs update (v1). */
  update: Uint8Array
  /** How many log entries and bytes made it up, so the room knows when to compact. */
  entries: number
  bytes: number
}

/**
 * A store several sync instances write at once (PostgreSQL). Besides the `Store` promises,
 * it tells an instance what the others stored since it last looked, so a room that
 * missed a bus message, or loaded just before another instance's append, heals from
 * the store itself.
 *
 * @example
 * const room = await store.load('abc')       // remembers how far it read
 * const news = await store.catchUp('abc')    // later: others' appends since then, or null
 */
export interface SharedStore extends Store {
  /**
   * Everything other instances stored for the room since this store last read it (load or
   * catchUp), merged into one update; null when there is nothing new. Content this store
   * appended itself is skipped: the room has it already.
   */
  catchUp(roomId: string): Promise<Uint8Array | null>
  /** Forgets how far the room was read (it was unloaded); the next load starts afresh. */
  forget(roomId: string): void
}
