/**
 * This device's copy of a board (IndexedDB, through y-indexeddb), and reading it early: a
 * board page starts reading the copy while the board's code (tldraw) still loads, so on a
 * second visit the read and the decode are done, or nearly, when the board connects.
 *
 * @example
 * // as the board page renders, before its code has loaded
 * const release = readLocalCopyEarly(room)
 * // connectBoard({ room }) then takes the doc and the copy instead of reading again
 */
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import { mark } from './timing'
import { installFastStrings } from './yjsStrings'

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

/** Changes this big (a board's whole state, a peer's big batch) are written when the page is idle. */
const BIG_UPDATE_BYTES = 64 * 1024

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

/** The IndexedDB database of a board's copy on this device. */
export function localCopyName(room: string): string {
  return `sketchroom:${room}`
}

/** How long a copy read early waits for its board to take it before it is freed. */
const EARLY_COPY_TTL_MS = 20_000

interface EarlyCopy {
  doc: Y.Doc
  local: LocalPersistence
  timer: ReturnType<typeof setTimeout>
}

const earlyCopies = new Map<string, EarlyCopy>()

/**
 * Starts reading this device's copy of `room` into a doc of its own, for the board that
 * opens next (`takeEarlyCopy`). Does nothing outside a browser, or when a read is already
 * waiting. The returned function frees the copy if no board took it; a copy not taken
 * within 20 s is freed anyway.
 */
export function readLocalCopyEarly(room: string): () => void {
  if (typeof indexedDB === 'undefined') return () => {}
  const waiting = earlyCopies.get(room)
  if (waiting) return () => release(room, waiting)
  // Before the first update is read, as connectBoard does.
  installFastStrings()
  mark('read-early')
  const doc = new Y.Doc()
  const copy: EarlyCopy = {
    doc,
    local: indexedDbPersistence(localCopyName(room), doc),
    timer: setTimeout(() => release(room, copy), EARLY_COPY_TTL_MS),
  }
  earlyCopies.set(room, copy)
  return () => release(room, copy)
}

/** The doc and copy read early for `room`, once; null when none is waiting. */
export function takeEarlyCopy(room: string): { doc: Y.Doc; local: LocalPersistence } | null {
  const copy = earlyCopies.get(room)
  if (!copy) return null
  earlyCopies.delete(room)
  clearTimeout(copy.timer)
  return { doc: copy.doc, local: copy.local }
}

function release(room: string, copy: EarlyCopy): void {
  if (earlyCopies.get(room) !== copy) return
  earlyCopies.delete(room)
  clearTimeout(copy.timer)
  void copy.local.destroy()
  copy.doc.destroy()
}
