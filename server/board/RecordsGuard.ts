import * as Y from 'yjs'
import { RECORDS_KEY } from '../../lib/board'

/**
 * Keeps `records` a list of `{ key: string, val }` entries, whatever an update puts there.
 *
 * tldraw's binding reads `records` through y-utility's YKeyValue, which assumes every
 * entry is such an object: one `null` pushed into the array makes it throw, in the server
 * and in every browser that loads the board. So, in every transaction, before any
 * observer sees it, entries that are not `{ key: string, val }` (or anything else
 * attached to `records`: shared types, text, map-style keys) are deleted within the same
 * transaction. Observers never see them, and an encoded state never carries their content.
 *
 * @example
 * const guard = new RecordsGuard(doc)
 * Y.applyUpdate(doc, update)
 * if (guard.take() > 0) relayCorrection()
 */
export class RecordsGuard {
  private readonly records: Y.Array<unknown>
  private removed = 0
  /** When set, the only clients a transaction can have added structs for (see `limitTo`). */
  private clients: number[] | null = null

  constructor(private readonly doc: Y.Doc) {
    this.records = doc.getArray(RECORDS_KEY)
    doc.on('beforeObserverCalls', (tr: Y.Transaction) => this.check(tr))
  }

  /** While `run` runs, check only these clients' new structs (the update's), not every client's. */
  limitTo(clients: number[], run: () => void): void {
    this.clients = clients
    try {
      run()
    } finally {
      this.clients = null
    }
  }

  /** How many entries were removed since the last call. */
  take(): number {
    const removed = this.removed
    this.removed = 0
    return removed
  }

  private check(tr: Y.Transaction): void {
    const store = this.doc.store
    const clients = this.clients ?? [...tr.afterState.keys()]
    for (const client of clients) {
      const before = tr.beforeState.get(client) ?? 0
      const after = tr.afterState.get(client) ?? 0
      if (after <= before) continue
      const structs = store.clients.get(client)
      if (!structs) continue
      for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
        const struct = structs[i]!
        if (struct instanceof Y.Item && !struct.deleted && struct.parent === this.records && !isEntry(struct)) {
          struct.delete(tr)
          this.removed++
        }
      }
    }
  }
}

/** A YKeyValue entry: plain `{ key: string, val }` values, in the array (no map-style key). */
function isEntry(item: Y.Item): boolean {
  if (item.parentSub !== null) return false
  const content = item.content
  if (!(content instanceof Y.ContentAny || content instanceof Y.ContentJSON)) return false
  return content.arr.every(
    (value: unknown) =>
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof (value as { key?: unknown }).key === 'string' &&
      'val' in value,
  )
}
