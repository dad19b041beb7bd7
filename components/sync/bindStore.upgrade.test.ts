/**
 * A board written by the tldraw this project used before (5.1.1, captured with that
 * version's own store into fixtures/), opened by today's client: migrated once, and the
 * result is what today's validating server accepts. The server checks records with the
 * new schema, so a board that was not migrated would have every edit reverted.
 */
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { BoardRules } from '../../server/board/BoardRules'
import { META_KEY, SCHEMA_KEY } from '@/lib/board'
import fixture from './fixtures/board-tldraw-5.1.1.json'
import { bindStoreToDoc, checkSchema, recordsOf } from './bindStore'
import { geo, newStore } from './testStore'

function oldBoard(): Y.Doc {
  const doc = new Y.Doc()
  doc.transact(() => {
    const kv = recordsOf(doc)
    for (const record of fixture.records) kv.set(record.id, record as never)
    doc.getMap(META_KEY).set(SCHEMA_KEY, fixture.schema)
  })
  return doc
}

describe('a board from tldraw 5.1.1', () => {
  const rules = new BoardRules({ maxRecordBytes: 256 * 1024 })

  test('its stored records are not valid for today’s schema as they are', () => {
    const doc = oldBoard()
    const problems = [...recordsOf(doc).map].map(([key, { val }]) => rules.recordProblem(key, val, undefined)).filter(Boolean)
    expect(problems.length).toBeGreaterThan(0)
    expect(checkSchema(newStore(), fixture.schema).kind).toBe('older')
  })

  test('an editor migrates it once; every record and the schema then pass the server’s rules', () => {
    const doc = oldBoard()
    const store = newStore()
    bindStoreToDoc(store, doc, { onOutdated: () => undefined })
    for (const [key, { val }] of recordsOf(doc).map) expect(rules.recordProblem(key, val, undefined), key).toBeNull()
    expect(rules.metaProblem(SCHEMA_KEY, doc.getMap(META_KEY).get(SCHEMA_KEY))).toBeNull()
    expect(checkSchema(store, doc.getMap(META_KEY).get(SCHEMA_KEY)).kind).toBe('same')
    expect(store.get('shape:fixture-rhombus' as never)).toMatchObject({ props: { geo: 'rhombus', flipX: false } })
    expect(store.get('shape:fixture-note' as never)).toMatchObject({ props: { textLastEditedBy: null } })
    // And it keeps working: a new shape goes in as usual.
    const shape = geo(store, 5)
    store.put([shape])
    expect(rules.recordProblem(shape.id, recordsOf(doc).get(shape.id), undefined)).toBeNull()
  })

  test('a view-only page shows it migrated, and writes nothing', () => {
    const doc = oldBoard()
    const before = Y.encodeStateAsUpdate(doc)
    const store = newStore()
    bindStoreToDoc(store, doc, { readOnly: true, onOutdated: () => undefined })
    expect(store.get('shape:fixture-rhombus' as never)).toMatchObject({ props: { flipX: false } })
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
  })
})
