import type { RecordsDiff, SerializedSchema, TLRecord, TLStore } from 'tldraw'
import * as Y from 'yjs'
import { YKeyValue } from 'y-utility/y-keyvalue'
import { META_KEY, RECORDS_KEY, SCHEMA_KEY } from '@/lib/board'
import { mark } from './timing'

/** Transaction origin of writes made by this binding, so its own changes are not re-applied. */
export const LOCAL_ORIGIN = Symbol('sketchroom-local')

// Where a board lives in its Y.Doc; the server's validator reads the same places.
export { META_KEY, RECORDS_KEY, SCHEMA_KEY, TITLE_KEY } from '@/lib/board'

export type RecordsKV = YKeyValue<TLRecord>

/**
 * The records of a board, as stored in its Y.Doc.
 *
 * @example
 * const shape = recordsOf(doc).get(shapeId)
 */
export function recordsOf(doc: Y.Doc): RecordsKV {
  return new YKeyValue<TLRecord>(doc.getArray<{ key: string; val: TLRecord }>(RECORDS_KEY))
}

/** How a document's stored schema relates to the schema this client was built with. */
export type SchemaCheck =
  | { kind: 'same' }
  | { kind: 'empty' }
  /** The board was written by an older client: migrate its records up once. */
  | { kind: 'older'; stored: SerializedSchema }
  /** The board was written by a newer client: this one must not write to it. */
  | { kind: 'newer' }

/**
 * Compares the schema a doc was written with (`meta.schema`) with the store's own.
 *
 * @example
 * if (checkSchema(store, doc.getMap('meta').get(SCHEMA_KEY)).kind === 'newer') askToReload()
 */
export function checkSchema(store: TLStore, stored: unknown): SchemaCheck {
  if (stored === undefined || stored === null) return { kind: 'empty' }
  const result = store.schema.getMigrationsSince(stored as SerializedSchema)
  if (!result.ok) return { kind: 'newer' }
  return result.value.length === 0 ? { kind: 'same' } : { kind: 'older', stored: stored as SerializedSchema }
}

function isDocumentRecord(store: TLStore, value: unknown): value is TLRecord {
  if (typeof value !== 'object' || value === null) return false
  const { typeName, id } = value as { typeName?: unknown; id?: unknown }
  if (typeof typeName !== 'string' || typeof id !== 'string') return false
  return store.schema.types[typeName as TLRecord['typeName']]?.scope === 'document'
}

/**
 * Checks one incoming record against tldraw's validators. A bad record from a peer is
 * dropped with a log line instead of failing the whole batch, so one broken client
 * cannot stop everyone else's edits from arriving.
 */
function validIncoming(store: TLStore, key: string, value: unknown): TLRecord | null {
  if (!isDocumentRecord(store, value) || value.id !== key) {
    console.warn('[sketchroom] skipped a record that is not a document record', { key, value })
    return null
  }
  try {
    const before = store.get(value.id) ?? null
    return store.schema.validateRecord(store, value, before ? 'updateRecord' : 'createRecord', before)
  } catch (err) {
    console.warn('[sketchroom] skipped an invalid record', { key, error: err instanceof Error ? err.message : err })
    return null
  }
}

export interface BindOptions {
  onOutdated(): void
  /**
   * Never write to the doc: a view-only link. The server drops a view connection's
   * writes anyway; not sending them keeps this client's doc equal to everyone else's.
   * Records of an older schema are then migrated in the store only.
   */
  readOnly?: boolean
}

export interface Binding {
  /**
   * Runs `change` (a write to the doc outside the records, such as the title) in one
   * transaction, seeding an empty doc with the board's records first: a title is a real
   * change too. Does nothing on a read-only or outdated binding.
   */
  write(change: () => void): void
  /** Stops both directions; the store and doc are left as they are. */
  dispose(): void
}

/**
 * Whether a change batch is more than what the editor does to an empty store on mount:
 * add the document record, a first page and the current user's record (tldraw keeps
 * user records in the document for attribution). Only a real change makes a new board.
 */
function isRealChange(store: TLStore, changes: RecordsDiff<TLRecord>): boolean {
  if (Object.keys(changes.removed).length) return true
  const added = Object.values(changes.added)
  const updated = Object.values(changes.updated).map(([, to]) => to)
  const bookkeeping = (record: TLRecord) => record.typeName === 'document' || record.typeName === 'user'
  if (updated.some((record) => !bookkeeping(record))) return true
  if (added.some((record) => !bookkeeping(record) && record.typeName !== 'page')) return true
  // A page added next to one the store already had is the user's (the page menu).
  const pages = added.filter((record) => record.typeName === 'page').length
  return pages > 0 && store.query.records('page').get().length > pages
}

/**
 * Loads the doc's records into the store (migrating them once if the doc is older), then
 * keeps both in step: user changes become one Yjs transaction per tldraw batch, and
 * remote Yjs changes are merged as remote (so they are not in this user's undo stack).
 *
 * `onOutdated` fires if the doc was, or becomes, written by a newer schema; from then on
 * nothing more is written to the doc.
 *
 * @example
 * const binding = bindStoreToDoc(store, doc, { onOutdated: () => showReloadMessage() })
 * // later
 * binding.dispose()
 */
export function bindStoreToDoc(store: TLStore, doc: Y.Doc, opts: BindOptions): Binding {
  const records = recordsOf(doc)
  mark('kv')
  const meta = doc.getMap<unknown>(META_KEY)
  const readOnly = opts.readOnly ?? false
  let writable = !readOnly
  const ourSchema = store.schema.serialize()

  let outdated = false
  const stopWriting = () => {
    writable = false
    if (outdated) return
    outdated = true
    opts.onOutdated()
  }

  const initial = checkSchema(store, meta.get(SCHEMA_KEY))
  if (initial.kind === 'newer') {
    stopWriting()
    return { write() {}, dispose() {} }
  }

  // 1. Doc → store, once. Local document records the doc does not have are dropped,
  // except when the doc is brand new: then nothing is written until this user's first
  // real change, which seeds it with this client's page (so visiting a link, a mistyped
  // one included, stores nothing).
  const docIsEmpty = records.map.size === 0
  let seeded = !docIsEmpty
  /** Inside a transaction: the board's first records and schema, if the doc has none yet; true if it seeded. */
  const seed = (): boolean => {
    if (seeded) return false
    seeded = true
    if (records.map.size > 0) return false
    for (const record of store.allRecords()) {
      if (isDocumentRecord(store, record)) records.set(record.id, record)
    }
    meta.set(SCHEMA_KEY, ourSchema)
    return true
  }
  // A reader cannot migrate the doc for everyone; it migrates what it reads, until a
  // writer has migrated the doc itself.
  let readFrom: SerializedSchema | null = readOnly && initial.kind === 'older' ? initial.stored : null
  const upgrade = (key: string, value: unknown): unknown => {
    if (!readFrom || !isDocumentRecord(store, value)) return value
    const migrated = store.schema.migratePersistedRecord(value, readFrom, 'up')
    if (migrated.type === 'success') return migrated.value
    console.warn('[sketchroom] could not migrate a record for display', { key, reason: migrated.reason })
    return value
  }
  if (readOnly) {
    // Nothing to seed or migrate in the doc: show what it has (an empty doc leaves the
    // store's own empty page, which is what an empty board looks like anyway).
    if (!docIsEmpty) loadAll()
  } else {
    if (initial.kind === 'older') {
      doc.transact(() => {
        for (const [key, { val }] of records.map) {
          const migrated = store.schema.migratePersistedRecord(val, initial.stored, 'up')
          if (migrated.type === 'success') records.set(key, migrated.value)
          else console.warn('[sketchroom] could not migrate a record; leaving it as it was', { key, reason: migrated.reason })
        }
        meta.set(SCHEMA_KEY, ourSchema)
      }, LOCAL_ORIGIN)
    }
    if (!docIsEmpty) {
      loadAll()
      if (initial.kind === 'empty') doc.transact(() => meta.set(SCHEMA_KEY, ourSchema), LOCAL_ORIGIN)
    }
  }

  function loadAll() {
    const incoming: TLRecord[] = []
    for (const [key, { val }] of records.map) {
      const record = validIncoming(store, key, upgrade(key, val))
      if (record) incoming.push(record)
    }
    const keep = new Set(incoming.map((r) => r.id))
    store.mergeRemoteChanges(() => {
      const stale = store
        .allRecords()
        .filter((r) => isDocumentRecord(store, r) && !keep.has(r.id))
        .map((r) => r.id)
      if (stale.length) store.remove(stale)
      store.put(incoming)
    })
    mark('load')
  }

  // 2. Store → doc: only what the user changed, one transaction per batch.
  // (A reader is never `writable`: the editor is read-only, and this is the backstop.)
  const unlisten = store.listen(
    ({ changes }) => {
      if (!writable) return
      if (!seeded && !isRealChange(store, changes)) return
      mark('write-start')
      doc.transact(() => {
        // The first real change carries the page and document record the editor made; the
        // seed is the store as it is now, this batch included, so it is written once.
        if (!seed()) {
          for (const record of Object.values(changes.added)) records.set(record.id, record)
          for (const [, to] of Object.values(changes.updated)) records.set(to.id, to)
        }
        for (const record of Object.values(changes.removed)) records.delete(record.id)
      }, LOCAL_ORIGIN)
      mark('write')
    },
    { source: 'user', scope: 'document' },
  )

  // 3. Doc → store, for every later remote transaction.
  const onRecordsChange = (changes: Map<string, { action: 'add' | 'update' | 'delete'; newValue?: unknown }>, tr: Y.Transaction) => {
    if (tr.origin === LOCAL_ORIGIN) return
    mark('remote-kv')
    if (!seeded) {
      // Someone else made the board first: theirs replaces this client's unsaved page.
      seeded = true
      loadAll()
      return
    }
    const toPut: TLRecord[] = []
    const toRemove: TLRecord['id'][] = []
    for (const [key, change] of changes) {
      if (change.action === 'delete') {
        if (store.has(key as TLRecord['id'])) toRemove.push(key as TLRecord['id'])
        continue
      }
      const record = validIncoming(store, key, upgrade(key, change.newValue))
      if (record) toPut.push(record)
    }
    if (!toPut.length && !toRemove.length) return
    try {
      store.mergeRemoteChanges(() => {
        if (toRemove.length) store.remove(toRemove)
        if (toPut.length) store.put(toPut)
      })
      mark('remote-store')
    } catch (err) {
      // Records that pass one by one can still clash as a set (e.g. a shape whose parent
      // was just removed). Keep the editor alive; the next change will carry them again.
      console.warn('[sketchroom] could not apply a remote change', err)
    }
  }
  records.on('change', onRecordsChange)

  const onMetaChange = (event: Y.YMapEvent<unknown>) => {
    if (event.transaction.origin === LOCAL_ORIGIN || !event.keysChanged.has(SCHEMA_KEY)) return
    const check = checkSchema(store, meta.get(SCHEMA_KEY))
    if (check.kind === 'newer') stopWriting()
    else if (readOnly) readFrom = check.kind === 'older' ? check.stored : null
  }
  meta.observe(onMetaChange)

  return {
    write(change) {
      if (!writable) return
      doc.transact(() => {
        seed()
        change()
      }, LOCAL_ORIGIN)
    },
    dispose() {
      writable = false
      unlisten()
      records.off('change', onRecordsChange)
      meta.unobserve(onMetaChange)
    },
  }
}
