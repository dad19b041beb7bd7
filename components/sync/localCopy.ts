/**
 * This device's copy of a board (IndexedDB, through y-indexeddb), and reading it early.
 *
 * A board page loads tldraw and the board's own code as one big chunk; only then does
 * the board connect. Reading the copy is mostly waiting for IndexedDB, so a page that
 * knows which board it shows starts the read while that chunk is still loading
 * ({@link openLocalCopy}), and the board takes the doc with the copy already in
 * ({@link takeLocalCopy}). This module imports no tldraw, so it stays in the page's
 * first, small chunk.
 */
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import { mark } from './timing'

/** A copy of the doc kept on this device (IndexedDB in a browser). */
export interface LocalPersistence {
  /** Settles once the stored copy has been applied to the doc. */
  whenSynced: Promise<unknown>
  destroy(): unknown
  /**
   * Keeps one change the doc has applied (`origin`: its transaction's). A copy with it is
   * handed every change by the board; one without listens to the doc's updates itself.
   */
  keep?(update: Uint8Array, origin: unknown): void
  /** The origin of the transaction in which the copy applies what it had stored. */
  readonly origin?: unknown
}

/** Makes the copy of the board `name` for `doc`, and starts reading it into the doc. */
export type MakeLocalPersistence = (name: string, doc: Y.Doc) => LocalPersistence

/** Changes this big (a board's whole state, a peer's big batch) are written when the page is idle. */
const BIG_UPDATE_BYTES = 64 * 1024

/** How long a copy read early waits for its board before it is closed again. */
const UNTAKEN_TTL_MS = 30_000

/** The name of a board's copy: one IndexedDB database per board (per link, for tokens). */
export function localCopyName(room: string): string {
  return `sketchroom:${room}`
}

/**
 * y-indexeddb, handed the changes by the board instead of listening to the doc (so the
 * server's are stored as they came, never re-encoded), big ones once the page is idle:
 * the board is on screen first.
 *
 * Relies on `IndexeddbPersistence._storeUpdate(update, origin)`: its `update` listener,
 * which appends the update to the copy (and compacts the copy now and then).
 */
export function indexedDbPersistence(name: string, doc: Y.Doc): LocalPersistence {
  const copy = new IndexeddbPersistence(name, doc)
  doc.off('update', copy._storeUpdate)
  let destroyed = false
  const idle = (task: () => void) =>
    typeof requestIdleCallback === 'function' ? requestIdleCallback(task, { timeout: 2_000 }) : setTimeout(task, 0)
  return {
    origin: copy,
    whenSynced: copy.whenSynced,
    destroy() {
      destroyed = true
      return copy.destroy()
    },
    keep(update, origin) {
      if (update.length < BIG_UPDATE_BYTES) copy._storeUpdate(update, origin)
      else idle(() => destroyed || copy._storeUpdate(update, origin))
    },
  }
}

interface EarlyCopy {
  doc: Y.Doc
  local: LocalPersistence
  timer: ReturnType<typeof setTimeout>
}

/** Copies read early and not yet taken, by copy name. */
const early = new Map<string, EarlyCopy>()

/**
 * Starts reading the copy of board `room` into a new doc, for the board that is about to
 * open; does nothing if one is already waiting. A copy nobody takes within 30 s is closed.
 *
 * @example
 * openLocalCopy(roomId) // while the board's code loads
 */
export function openLocalCopy(room: string, persistence: MakeLocalPersistence = indexedDbPersistence): void {
  const name = localCopyName(room)
  if (early.has(name)) return
  mark('copy-open')
  const doc = new Y.Doc()
  const local = persistence(name, doc)
  local.whenSynced.then(
    () => mark('copy-read'),
    () => undefined,
  )
  const timer = setTimeout(() => dropLocalCopy(room), UNTAKEN_TTL_MS)
  early.set(name, { doc, local, timer })
}

/**
 * The doc and copy {@link openLocalCopy} started for `room`, now the caller's (to
 * destroy), or null if none is waiting. Each is taken once.
 *
 * @example
 * const { doc, local } = takeLocalCopy(roomId) ?? fresh()
 */
export function takeLocalCopy(room: string): { doc: Y.Doc; local: LocalPersistence } | null {
  const name = localCopyName(room)
  const copy = early.get(name)
  if (!copy) return null
  early.delete(name)
  clearTimeout(copy.timer)
  return { doc: copy.doc, local: copy.local }
}

/** Closes the copy read early for `room` if nobody took it (the page moved on). */
export function dropLocalCopy(room: string): void {
  const copy = takeLocalCopy(room)
  if (!copy) return
  void copy.local.destroy()
  copy.doc.destroy()
}
