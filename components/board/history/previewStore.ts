import { atom, createTLStore, defaultShapeUtils, loadSnapshot, type SerializedSchema, type TLRecord, type TLStore } from 'tldraw'

/**
 * A store of its own for a version's records, read-only, bound to nothing: what the
 * preview shows. Records written by an older tldraw are migrated here, in memory, from the
 * schema the server says they were written with (the current one when it does not say).
 * Throws when they cannot be read (written by a newer tldraw, or not records at all).
 *
 * @example
 * const store = previewStore(records, schema)
 * // <Tldraw store={store} hideUi />
 */
export function previewStore(records: readonly TLRecord[], schema: unknown): TLStore {
  const store = createTLStore({
    shapeUtils: defaultShapeUtils,
    collaboration: { status: null, mode: atom('sketchroom preview mode', 'readonly' as const) },
  })
  const byId = Object.fromEntries(records.map((r) => [r.id, r])) as Record<TLRecord['id'], TLRecord>
  loadSnapshot(store, { document: { store: byId, schema: (schema as SerializedSchema | null) ?? store.schema.serialize() } })
  return store
}
