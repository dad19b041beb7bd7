/**
 * Valid tldraw content for tests: a board document, shapes of each default type, and a
 * check that a document holds only valid tldraw data.
 */
import { createTLSchema, DocumentRecordType, PageRecordType, type TLRecord } from '@tldraw/tlschema'
import { YKeyValue } from 'y-utility/y-keyvalue'
import * as Y from 'yjs'
import { META_KEY, RECORDS_KEY, SCHEMA_KEY } from '../../lib/board'

export const schema = createTLSchema()

const kvs = new WeakMap<Y.Doc, YKeyValue<unknown>>()

/**
 * The board's records of `doc`, one YKeyValue per doc: each YKeyValue observes the array
 * and keeps a map of every entry, so a new one per call would pile up observers and copies.
 */
export function records(doc: Y.Doc): YKeyValue<unknown> {
  let kv = kvs.get(doc)
  if (!kv) kvs.set(doc, (kv = new YKeyValue<unknown>(doc.getArray(RECORDS_KEY))))
  return kv
}

const base = (id: string, type: string, props: Record<string, unknown>) => ({
  id,
  typeName: 'shape',
  type,
  x: 10,
  y: 20,
  rotation: 0,
  index: 'a1',
  parentId: 'page:page',
  isLocked: false,
  opacity: 1,
  meta: {},
  props,
})

const richText = { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'hello' }] }] }

export function geoShape(id = 'shape:geo1', props: Record<string, unknown> = {}) {
  return base(id, 'geo', {
    geo: 'rectangle',
    w: 100,
    h: 80,
    color: 'black',
    labelColor: 'black',
    fill: 'none',
    dash: 'draw',
    size: 'm',
    font: 'draw',
    align: 'middle',
    verticalAlign: 'middle',
    growY: 0,
    url: '',
    scale: 1,
    richText,
    ...props,
  })
}

export function textShape(id = 'shape:text1', props: Record<string, unknown> = {}) {
  return base(id, 'text', {
    color: 'black',
    size: 'm',
    font: 'draw',
    textAlign: 'start',
    w: 100,
    richText,
    scale: 1,
    autoSize: true,
    ...props,
  })
}

export function noteShape(id = 'shape:note1', props: Record<string, unknown> = {}) {
  return base(id, 'note', {
    color: 'yellow',
    labelColor: 'black',
    size: 'm',
    font: 'draw',
    fontSizeAdjustment: 0,
    textFirstEditedBy: null,
    align: 'middle',
    verticalAlign: 'middle',
    growY: 0,
    url: '',
    richText,
    scale: 1,
    ...props,
  })
}

/** A fresh board: document, one page, and a few valid shapes, with the schema in meta. */
export function seedBoard(doc: Y.Doc, shapes: Array<{ id: string }> = [geoShape(), textShape(), noteShape()]): void {
  const kv = records(doc)
  doc.transact(() => {
    kv.set('document:document', DocumentRecordType.create({ id: 'document:document' as never }))
    kv.set('page:page', PageRecordType.create({ id: 'page:page' as never, name: 'Page 1', index: 'a1' as never }))
    for (const shape of shapes) kv.set(shape.id, shape)
    doc.getMap(META_KEY).set(SCHEMA_KEY, schema.serialize())
  })
}

/** Throws unless `doc` holds a valid tldraw board: every record valid, a document record and a page. */
export function assertValidBoard(doc: Y.Doc): void {
  const kv = records(doc)
  let pages = 0
  for (const [key, entry] of kv.map) {
    const value = (entry as { val: TLRecord }).val
    if (value.id !== key) throw new Error(`record ${key} has id ${value.id}`)
    schema.types[value.typeName].validate(value)
    if (value.typeName === 'page') pages++
  }
  if (!kv.has('document:document')) throw new Error('no document record')
  if (pages === 0) throw new Error('no page')
  const stored = doc.getMap(META_KEY).get(SCHEMA_KEY)
  if (!stored || !schema.getMigrationsSince(stored as never).ok) throw new Error('schema missing or unknown')
}
