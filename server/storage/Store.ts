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
  /** Boards beyond their log: the catalog and the versions. */
  readonly catalog: BoardCatalog
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

/** What the catalog keeps about a board, beside its update log (ms since epoch throughout). */
export interface BoardInfo {
  roomId: string
  /** When the board was first stored (its first real change). */
  createdAt: number
  /** The last change the catalog heard of (written with versions and at unload, so it may lag). */
  changedAt: number | null
  /** When someone last opened it. */
  openedAt: number | null
  title: string
  shapes: number
  /** Size of the encoded document, as last measured. */
  bytes: number
  /** In the trash since; null when it is not. */
  deletedAt: number | null
  /** Bumped to revoke every link token of the board (the room id itself stays). */
  linkGeneration: number
}

export type BoardPatch = Partial<Pick<BoardInfo, 'changedAt' | 'openedAt' | 'title' | 'shapes' | 'bytes'>>

/** Why a version was taken. */
export type VersionReason = 'quiet' | 'periodic' | 'left' | 'before-restore' | 'named' | 'restored'

/** One version of a board, without its content. */
export interface VersionInfo {
  /** Sortable: newer versions have greater ids. */
  id: string
  createdAt: number
  reason: VersionReason
  /** Set for named versions, which retention keeps for ever. */
  name: string | null
  shapes: number
  /** Size of the whole document at that version. */
  bytes: number
  /** Bytes this version takes in the store (a diff against a keyframe, or a keyframe). */
  storedBytes: number
  /** Self-chosen names of the people who edited since the previous version (not identities). */
  editors: string[]
}

export interface NewVersion {
  createdAt: number
  reason: VersionReason
  name: string | null
  shapes: number
  editors: string[]
  /** The whole document, encoded. */
  state: Uint8Array
}

/**
 * Boards beyond their update log: a catalog row per board (for listing, the trash and
 * link revocation) and the versions of each board. Every Store keeps one; the contract
 * suite runs on each (`Store.contract.ts`).
 *
 * @example
 * await store.catalog.addVersion('abc', { createdAt: Date.now(), reason: 'quiet', name: null, shapes: 3, editors: ['Ada'], state })
 * const [newest] = await store.catalog.versions('abc')
 * const state = await store.catalog.versionState('abc', newest.id)
 */
export interface BoardCatalog {
  board(roomId: string): Promise<BoardInfo | null>
  /** The rows of these boards (those that have one), in one read: what loaded rooms check every BOARD_CHECK_INTERVAL_MS. */
  boardsOf(roomIds: string[]): Promise<BoardInfo[]>
  /** Every board in the catalog, the trash included, newest change first. */
  boards(): Promise<BoardInfo[]>
  /** Creates the board's row if missing, and sets what `patch` says. */
  noteBoard(roomId: string, patch: BoardPatch): Promise<void>
  /** Moves the board to the trash (`at`) or out of it (null). */
  setDeleted(roomId: string, at: number | null): Promise<void>
  /** The next link generation (every token minted before it stops working). */
  bumpLinkGeneration(roomId: string): Promise<number>
  /** The board, its log, its versions: gone for good. */
  purge(roomId: string): Promise<void>
  /**
   * Stores a version, unless the newest one has the same content (then returns null).
   * Stored as a diff against a keyframe when that is small, so a version of a big board
   * where one shape moved costs about that shape.
   */
  addVersion(roomId: string, version: NewVersion): Promise<VersionInfo | null>
  /** Newest first. */
  versions(roomId: string): Promise<VersionInfo[]>
  /** The whole document at that version, encoded; null when there is no such version of that board. */
  versionState(roomId: string, id: string): Promise<Uint8Array | null>
  /** Deletes these versions (never the newest; keyframes others need stay, hidden). */
  deleteVersions(roomId: string, ids: string[]): Promise<void>
  /**
   * Takes the board's operation lock (delete, undelete, purge, the server's sweep), across
   * processes and, on PostgreSQL, hosts: rejects with `BoardBusyError` while another holds
   * it. Held until released, or until the holder's process dies.
   */
  lock(roomId: string, operation: string): Promise<BoardLock>
  /** Every room with a stored log, boards not in the catalog yet included. */
  storedRooms(): Promise<string[]>
  /** The room's stored log entries as they are, read without touching what a loaded room keeps (for scans). */
  logEntries(roomId: string): Promise<Uint8Array[]>
  /** The room's versions as stored (keyframes and diffs, hidden ones too), for scans: together they hold every version's content. */
  versionData(roomId: string): Promise<Uint8Array[]>
}

/** An operation lock of one board, see `BoardCatalog.lock`. */
export interface BoardLock {
  release(): Promise<void>
}

/** Another operation holds the board's lock; the message says which, when the store knows. */
export class BoardBusyError extends Error {
  override readonly name = 'BoardBusyError'
}
