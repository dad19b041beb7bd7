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

/**
 * Writes many records to the doc at once (call it inside a transaction): what
 * `YKeyValue.set` and `.delete` do one key at a time, each walking the whole array to find
 * the old entry, done in one walk. Every entry of a written or removed key goes, right to
 * left so the indices stay true, and the new values are appended in one push.
 *
 * @example
 * doc.transact(() => writeRecords(recordsOf(doc), [shape], [removedId]))
 */
export function writeRecords(kv: RecordsKV, put: readonly TLRecord[], remove: readonly string[] = []): void {
  if (!put.length && !remove.length) return
  const gone = new Set<string>(remove)
  let replacing = remove.length > 0
  for (const record of put) {
    gone.add(record.id)
    replacing ||= kv.map.has(record.id)
  }
  if (replacing) {
    const entries = kv.yarray.toArray()
    // From the right, so deleting a run of entries leaves the indices to its left true.
    let runEnd = -1
    for (let i = entries.length - 1; i >= 0; i--) {
      if (gone.has(entries[i]!.key)) {
        if (runEnd < 0) runEnd = i
      } else if (runEnd >= 0) {
        kv.yarray.delete(i + 1, runEnd - i)
        runEnd = -1
      }
    }
    if (runEnd >= 0) kv.yarray.delete(0, runEnd + 1)
  }
  if (put.length) kv.yarray.push(put.map((record) => ({ key: record.id, val: record })))
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

/** Whether a doc entry is a document record of this schema stored under its own id; logs the ones that are not. */
function isEntryForStore(store: TLStore, key: string, value: unknown): value is TLRecord {
  if (isDocumentRecord(store, value) && value.id === key) return true
  console.warn('[sketchroom] skipped a record that is not a document record', { key, value })
  return false
}

/**
 * Checks one incoming record against tldraw's validators, for when a batch failed as a
 * whole: a bad record from a peer is dropped with a log line instead of failing the batch,
 * so one broken client cannot stop everyone else's edits from arriving.
 */
function validIncoming(store: TLStore, record: TLRecord): boolean {
  try {
    const before = store.get(record.id) ?? null
    store.schema.validateRecord(store, record, before ? 'updateRecord' : 'createRecord', before)
    return true
  } catch (err) {
    console.warn('[sketchroom] skipped an invalid record', { key: record.id, error: err instanceof Error ? err.message : err })
    return false
  }
}

/**
 * `next`, with every part that equals the same part of `prev` replaced by `prev`'s own
 * object: returns `prev` itself when nothing changed. A record from the doc is a new
 * object all through, even where only `x` moved; tldraw re-renders a shape whose `props`
 * or `meta` object changed, and validates again whatever is not the object it validated
 * before. So a peer's move of 1,000 shapes moves them, instead of redrawing them all.
 *
 * @example
 * sharedWith(store.get(id), incoming) // incoming, sharing `props` when it is unchanged
 */
export function sharedWith<T>(prev: T, next: T): T {
  if (Object.is(prev, next)) return prev
  if (typeof prev !== 'object' || typeof next !== 'object' || prev === null || next === null) return next
  if (Array.isArray(prev) !== Array.isArray(next)) return next
  // Nothing is copied until a difference is found: most parts of a changed record are equal.
  if (Array.isArray(next)) {
    const before = prev as unknown[]
    let out: unknown[] | null = before.length === next.length ? null : []
    for (let i = 0; i < next.length; i++) {
      const shared = sharedWith(before[i], next[i])
      if (out === null && shared !== before[i]) out = before.slice(0, i)
      out?.push(shared)
    }
    return (out ?? prev) as T
  }
  const before = prev as Record<string, unknown>
  const after = next as Record<string, unknown>
  const keys = Object.keys(after)
  let out: Record<string, unknown> | null = keys.length === Object.keys(before).length ? null : {}
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const known = Object.hasOwn(before, key)
    const shared = known ? sharedWith(before[key], after[key]) : after[key]
    if (out === null && (!known || shared !== before[key])) {
      out = {}
      for (let k = 0; k < i; k++) out[keys[k]!] = before[keys[k]!]
    }
    if (out !== null) out[key] = shared
  }
  return (out ?? prev) as T
}

/**
 * Puts remote records into the store (and removes some) in one remote change. `store.put`
 * validates every record itself, so the batch is tried as it is first; only if some record
 * fails are they checked one by one and the invalid ones left out.
 */
function mergeIncoming(store: TLStore, put: TLRecord[], remove: TLRecord['id'][]): void {
  const merge = (records: TLRecord[]) =>
    store.mergeRemoteChanges(() => {
      if (remove.length) store.remove(remove)
      if (records.length) store.put(records)
    })
  try {
    merge(put)
    return
  } catch {
    // A failed put changes nothing (tldraw rolls the transaction back): sort them out.
  }
  merge(put.filter((record) => validIncoming(store, record)))
}

const nextFrame = (callback: () => void) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(callback) : setTimeout(callback, 16)

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
    writeRecords(
      records,
      store.allRecords().filter((record) => isDocumentRecord(store, record)),
    )
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
        const migrated: TLRecord[] = []
        for (const [key, { val }] of records.map) {
          const result = store.schema.migratePersistedRecord(val, initial.stored, 'up')
          if (result.type === 'success') migrated.push(result.value)
          else console.warn('[sketchroom] could not migrate a record; leaving it as it was', { key, reason: result.reason })
        }
        writeRecords(records, migrated)
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
      const value = upgrade(key, val)
      if (isEntryForStore(store, key, value)) incoming.push(value)
    }
    const keep = new Set<string>()
    for (const record of incoming) keep.add(record.id)
    const stale: TLRecord['id'][] = []
    for (const record of store.allRecords()) if (isDocumentRecord(store, record) && !keep.has(record.id)) stale.push(record.id)
    mergeIncoming(store, incoming, stale)
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
        const removed = Object.keys(changes.removed)
        if (seed()) writeRecords(records, [], removed)
        else writeRecords(records, [...Object.values(changes.added), ...Object.values(changes.updated).map(([, to]) => to)], removed)
      }, LOCAL_ORIGIN)
      mark('write')
    },
    { source: 'user', scope: 'document' },
  )

  // tldraw calls store listeners on the next animation frame, after it has drawn the
  // change: a big change would reach the doc (and everyone else) only after this client
  // painted it. So when a user's operation ends, the listeners run at once (in a
  // microtask, after the code that made the change), at most once per frame, so the doc
  // still gets at most one transaction (one message to the server) per frame.
  let flushQueued = false
  let flushedThisFrame = false
  const stopEagerFlush = readOnly
    ? () => {}
    : store.sideEffects.registerOperationCompleteHandler((source) => {
        if (source !== 'user' || flushQueued || flushedThisFrame) return
        flushQueued = true
        queueMicrotask(() => {
          flushQueued = false
          flushedThisFrame = true
          nextFrame(() => (flushedThisFrame = false))
          store._flushHistory()
        })
      })

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
      const value = upgrade(key, change.newValue)
      if (!isEntryForStore(store, key, value)) continue
      const before = store.unsafeGetWithoutCapture(value.id)
      toPut.push(before ? sharedWith(before, value) : value)
    }
    if (!toPut.length && !toRemove.length) return
    try {
      mergeIncoming(store, toPut, toRemove)
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
      stopEagerFlush()
      records.off('change', onRecordsChange)
      meta.unobserve(onMetaChange)
    },
  }
}
