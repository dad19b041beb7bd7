/**
 * Stores and shapes for unit tests that run tldraw without an editor (Node): the
 * records the editor would create on mount, and a valid shape to draw.
 */
import { createShapeId, createTLStore, defaultShapeUtils, GeoShapeUtil, type TLRecord, type TLStore } from 'tldraw'

export const PAGE_ID = 'page:page'

/**
 * The document record and one page, as the editor puts them in an empty store on mount.
 *
 * @example
 * store.put(editorRecords(store))
 */
export function editorRecords(store: TLStore): TLRecord[] {
  return [
    store.schema.types.document.create({ id: 'document:document' as never }) as TLRecord,
    store.schema.types.page.create({ id: PAGE_ID as never, name: 'Page 1', index: 'a1' as never }) as TLRecord,
  ]
}

/**
 * A store as the editor leaves it on mount: the document record and one page.
 *
 * @example
 * const store = newStore()
 */
export function newStore(): TLStore {
  const store = createTLStore({ shapeUtils: defaultShapeUtils })
  store.put(editorRecords(store))
  return store
}

/**
 * A rectangle on {@link PAGE_ID} at `x`, with a fresh id; not yet in the store.
 *
 * @example
 * store.put([geo(store, 10)])
 */
export function geo(store: TLStore, x: number): TLRecord {
  // The util only reads its options for defaults; no editor is needed for that.
  const props = new GeoShapeUtil({} as never).getDefaultProps()
  const shape = { id: createShapeId(), type: 'geo', parentId: PAGE_ID, x, y: 0, index: 'a1', props }
  return store.schema.types.shape.create(shape as never) as TLRecord
}
