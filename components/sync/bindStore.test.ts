import { afterEach, describe, expect, test } from 'vitest'
import { createTLStore, defaultShapeUtils } from 'tldraw'
import * as Y from 'yjs'
import { bindStoreToDoc, recordsOf, sharedWith, writeRecords } from './bindStore'
import { editorRecords, geo, newStore, PAGE_ID } from './testStore'

/** Two docs joined as if by a server. */
function linkDocs(a: Y.Doc, b: Y.Doc) {
  a.on('update', (update: Uint8Array, origin: unknown) => origin !== b && Y.applyUpdate(b, update, a))
  b.on('update', (update: Uint8Array, origin: unknown) => origin !== a && Y.applyUpdate(a, update, b))
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a), a)
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b), b)
}

describe('bindStoreToDoc, read-only', () => {
  test('shows what writers put in the doc, live, and never writes to it', () => {
    const writerDoc = new Y.Doc()
    const writer = newStore()
    bindStoreToDoc(writer, writerDoc, { onOutdated: () => undefined })
    const first = geo(writer, 10)
    writer.put([first])

    const readerDoc = new Y.Doc()
    linkDocs(writerDoc, readerDoc)
    const reader = newStore()
    const writes: Uint8Array[] = []
    readerDoc.on('update', (update: Uint8Array, origin: unknown) => origin !== writerDoc && writes.push(update))
    bindStoreToDoc(reader, readerDoc, { readOnly: true, onOutdated: () => undefined })
    expect(reader.get(first.id as never)).toMatchObject({ x: 10 })

    const second = geo(writer, 20)
    writer.put([second])
    expect(reader.get(second.id as never)).toMatchObject({ x: 20 })

    // A change in the reader's own store (what a tampered editor would do) stays local.
    reader.put([geo(reader, 30)])
    reader.remove([first.id])
    expect(writes).toEqual([])
    expect(recordsOf(writerDoc).get(first.id)).toBeDefined()
    expect(writer.get(first.id as never)).toBeDefined()
  })

  test('an empty doc is not seeded by a reader', () => {
    const doc = new Y.Doc()
    bindStoreToDoc(newStore(), doc, { readOnly: true, onOutdated: () => undefined })
    expect(recordsOf(doc).map.size).toBe(0)
    expect(doc.getMap('meta').size).toBe(0)
  })
})

describe('bindStoreToDoc, schemas and bad records', () => {
  test('a board written by a newer schema: the client is told to reload and writes nothing', () => {
    const doc = new Y.Doc()
    const newer = newStore().schema.serialize()
    doc.getMap('meta').set('schema', { ...newer, sequences: { ...newer.sequences, 'com.tldraw.shape': 999 } })
    const before = Y.encodeStateAsUpdate(doc)
    const store = newStore()
    let told = 0
    bindStoreToDoc(store, doc, { onOutdated: () => told++ })
    store.put([geo(store, 5)])
    expect(told).toBe(1)
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
  })

  test('an invalid record from the doc is skipped; the valid ones and later changes still sync', () => {
    const writerDoc = new Y.Doc()
    const writer = newStore()
    bindStoreToDoc(writer, writerDoc, { onOutdated: () => undefined })
    const good = geo(writer, 1)
    writer.put([good])
    // What a broken peer (or a server that did not validate) could leave in the doc.
    const bad = { ...geo(writer, 2), x: 'not a number' }
    recordsOf(writerDoc).set(bad.id, bad as never)

    const readerDoc = new Y.Doc()
    linkDocs(writerDoc, readerDoc)
    const reader = newStore()
    const warn = console.warn
    const warnings: unknown[] = []
    console.warn = (...args: unknown[]) => warnings.push(args)
    try {
      bindStoreToDoc(reader, readerDoc, { onOutdated: () => undefined })
      expect(reader.get(good.id as never)).toBeDefined()
      expect(reader.get(bad.id as never)).toBeUndefined()
      const later = geo(writer, 3)
      writer.put([later])
      expect(reader.get(later.id as never)).toMatchObject({ x: 3 })
    } finally {
      console.warn = warn
    }
    expect(warnings.length).toBeGreaterThan(0)
  })
})

describe('bindStoreToDoc, a new board', () => {
  const emptyStore = () => createTLStore({ shapeUtils: defaultShapeUtils })

  test('the records the editor makes on mount are not stored; the first shape stores them in the same transaction', () => {
    const doc = new Y.Doc()
    const store = emptyStore()
    const kv = recordsOf(doc)
    const transactions: number[] = []
    // Yjs also runs empty transactions (reads); count the ones that wrote.
    doc.on('afterTransaction', (tr: Y.Transaction) => tr.changed.size && transactions.push(kv.map.size))
    bindStoreToDoc(store, doc, { onOutdated: () => undefined })
    store.put(editorRecords(store))
    expect(recordsOf(doc).map.size).toBe(0)
    expect(doc.getMap('meta').size).toBe(0)
    store.put([geo(store, 1)])
    expect(transactions).toEqual([3])
    expect(recordsOf(doc).get(PAGE_ID)).toBeDefined()
    expect(doc.getMap('meta').get('schema')).toBeDefined()
  })

  test('a title is a real change: written with the first records, in one transaction', () => {
    const doc = new Y.Doc()
    const store = emptyStore()
    const binding = bindStoreToDoc(store, doc, { onOutdated: () => undefined })
    store.put(editorRecords(store))
    let transactions = 0
    doc.on('afterTransaction', (tr: Y.Transaction) => tr.changed.size && transactions++)
    binding.write(() => doc.getMap('meta').set('title', 'Plans'))
    expect(transactions).toBe(1)
    expect(recordsOf(doc).map.size).toBe(2)
    expect(doc.getMap('meta').get('title')).toBe('Plans')
  })

  test('a board someone else made meanwhile replaces the unsaved local page', () => {
    const theirs = new Y.Doc()
    const writer = newStore()
    bindStoreToDoc(writer, theirs, { onOutdated: () => undefined })
    const page = writer.schema.types.page.create({ id: 'page:theirs' as never, name: 'Theirs', index: 'a2' as never })
    writer.put([page])
    writer.remove(['page:page' as never])

    const mine = new Y.Doc()
    const store = emptyStore()
    bindStoreToDoc(store, mine, { onOutdated: () => undefined })
    store.put(editorRecords(store))
    linkDocs(theirs, mine)
    expect(
      store.query
        .records('page')
        .get()
        .map((p) => p.id),
    ).toEqual(['page:theirs'])
    expect(recordsOf(mine).get(PAGE_ID)).toBeUndefined()
  })
})

test('the user record the editor adds on mount (tldraw keeps it for attribution) is not a change either', () => {
  const doc = new Y.Doc()
  const store = createTLStore({ shapeUtils: defaultShapeUtils })
  bindStoreToDoc(store, doc, { onOutdated: () => undefined })
  store.put([...editorRecords(store), store.schema.types.user.create({ id: 'user:me' as never, name: '', color: '#f00' }) as never])
  store.update('user:me' as never, (u) => ({ ...(u as object), name: 'Me' }) as never)
  expect(recordsOf(doc).map.size).toBe(0)
  store.put([geo(store, 2)])
  expect(recordsOf(doc).get('user:me')).toMatchObject({ name: 'Me' })
})

describe('bindStoreToDoc, big changes', () => {
  test('many records written and removed in one batch: one entry per key, and a peer sees each as an update or a removal', () => {
    const doc = new Y.Doc()
    const store = newStore()
    const kv = recordsOf(doc)
    const shapes = Array.from({ length: 20 }, (_, i) => geo(store, i))
    doc.transact(() => writeRecords(kv, shapes))
    const peerDoc = new Y.Doc()
    linkDocs(doc, peerDoc)
    const peer = recordsOf(peerDoc)
    const seen = new Map<string, string>()
    peer.on('change', (changes: Map<string, { action: string }>) => changes.forEach((c, key) => seen.set(key, c.action)))

    // Every other one moved, every fourth of the rest removed: runs and gaps of all sizes.
    const isMoved = (i: number) => i % 2 === 0
    const isRemoved = (i: number) => i % 4 === 1
    const moved = shapes.filter((_, i) => isMoved(i)).map((s) => ({ ...s, x: 1000 + (s as { x: number }).x }))
    const removed = shapes.filter((_, i) => isRemoved(i)).map((s) => s.id)
    doc.transact(() => writeRecords(kv, moved, removed))

    const keys = kv.yarray.toArray().map((e) => e.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys.length).toBe(15)
    for (const [i, s] of shapes.entries()) {
      const expected = isMoved(i) ? { x: 1000 + i } : isRemoved(i) ? undefined : { x: i }
      if (expected) expect(peer.get(s.id)).toMatchObject(expected)
      else expect(peer.get(s.id)).toBeUndefined()
    }
    expect([...seen.values()].filter((a) => a === 'update').length).toBe(10)
    expect([...seen.values()].filter((a) => a === 'delete').length).toBe(5)
    expect(peerDoc.getArray('records').length).toBe(15)
  })

  test("a peer's move keeps each shape's props and meta objects, so tldraw moves the shapes without redrawing them", () => {
    const writerDoc = new Y.Doc()
    const writer = newStore()
    bindStoreToDoc(writer, writerDoc, { onOutdated: () => undefined })
    const shapes = Array.from({ length: 3 }, (_, i) => geo(writer, i))
    writer.put(shapes)
    const readerDoc = new Y.Doc()
    linkDocs(writerDoc, readerDoc)
    const reader = newStore()
    bindStoreToDoc(reader, readerDoc, { onOutdated: () => undefined })
    const before = shapes.map((s) => reader.get(s.id as never) as unknown as { props: { w: number }; meta: object })

    writer.put(
      shapes.map(
        (s, i) =>
          ({
            ...s,
            x: 100 + i,
            props: i === 2 ? { ...(s as never as { props: object }).props, w: 7 } : (s as never as { props: object }).props,
          }) as never,
      ),
    )

    const after = shapes.map(
      (s) => reader.get(s.id as never) as unknown as { x: number; props: { w: number; richText: unknown }; meta: object },
    )
    expect(after.map((s) => s.x)).toEqual([100, 101, 102])
    expect(after[0]!.props).toBe(before[0]!.props)
    expect(after[1]!.props).toBe(before[1]!.props)
    expect(after[1]!.meta).toBe(before[1]!.meta)
    // A changed prop is a new props object, whose unchanged parts are still shared.
    expect(after[2]!.props).not.toBe(before[2]!.props)
    expect(after[2]!.props.w).toBe(7)
    expect(after[2]!.props.richText).toBe((before[2]!.props as never as { richText: unknown }).richText)
  })

  test('sharedWith: the previous object wherever nothing changed', () => {
    const prev = { a: 1, b: { c: [1, { d: 2 }], e: 'x' }, f: { g: 1 } }
    expect(sharedWith(prev, structuredClone(prev))).toBe(prev)
    const next = sharedWith(prev, { ...structuredClone(prev), a: 2 })
    expect(next).toEqual({ ...prev, a: 2 })
    expect(next.b).toBe(prev.b)
    const deeper = sharedWith(prev, { ...structuredClone(prev), b: { c: [1, { d: 3 }], e: 'x' } })
    expect(deeper.b).not.toBe(prev.b)
    expect(deeper.b.c[1]).toEqual({ d: 3 })
    expect(deeper.f).toBe(prev.f)
    // A key added or removed is a change, even to an undefined value.
    expect(sharedWith<object>(prev, { ...structuredClone(prev), h: undefined })).not.toBe(prev)
    expect(sharedWith({ x: 1, y: undefined } as { x: number; y?: number }, { x: 1 })).toEqual({ x: 1 })
  })

  test('a remote batch with one invalid record: the rest of the batch arrives', () => {
    const writerDoc = new Y.Doc()
    const writer = newStore()
    bindStoreToDoc(writer, writerDoc, { onOutdated: () => undefined })
    writer.put([geo(writer, 0)])
    const readerDoc = new Y.Doc()
    linkDocs(writerDoc, readerDoc)
    const reader = newStore()
    bindStoreToDoc(reader, readerDoc, { onOutdated: () => undefined })

    const batch = Array.from({ length: 5 }, (_, i) => geo(writer, 10 + i))
    const bad = { ...geo(writer, 99), x: 'not a number' }
    const warn = console.warn
    console.warn = () => undefined
    try {
      writerDoc.transact(() => writeRecords(recordsOf(writerDoc), [...batch, bad as never]))
    } finally {
      console.warn = warn
    }
    for (const s of batch) expect(reader.get(s.id as never)).toBeDefined()
    expect(reader.get(bad.id as never)).toBeUndefined()
  })

  describe('with frames as in a browser', () => {
    // tldraw runs store listeners at once under NODE_ENV=test; this makes it wait for a
    // frame, as in a browser, and the frames come only when the test says.
    let frames: Array<() => void> = []
    const g = globalThis as { __FORCE_RAF_IN_TESTS__?: boolean; requestAnimationFrame?: unknown; cancelAnimationFrame?: unknown }
    const saved = { raf: g.requestAnimationFrame, caf: g.cancelAnimationFrame }
    const useFrames = () => {
      frames = []
      g.__FORCE_RAF_IN_TESTS__ = true
      g.requestAnimationFrame = (callback: () => void) => frames.push(callback)
      g.cancelAnimationFrame = () => undefined
    }
    const nextFrame = () => {
      const due = frames
      frames = []
      for (const callback of due) callback()
    }
    afterEach(() => {
      delete g.__FORCE_RAF_IN_TESTS__
      g.requestAnimationFrame = saved.raf
      g.cancelAnimationFrame = saved.caf
    })

    test("a user's change reaches the doc when the code that made it ends, before the next frame; a second one in that frame waits for it", async () => {
      useFrames()
      const doc = new Y.Doc()
      const store = newStore()
      const sent: Uint8Array[] = []
      doc.on('update', (update: Uint8Array) => sent.push(update))
      bindStoreToDoc(store, doc, { onOutdated: () => undefined })
      const first = geo(store, 1)
      store.put([first])
      await Promise.resolve()
      expect(recordsOf(doc).get(first.id)).toMatchObject({ x: 1 })
      expect(sent.length).toBe(1)

      // At most one transaction (one message to the server) per frame.
      const second = geo(store, 2)
      store.put([second])
      await Promise.resolve()
      expect(recordsOf(doc).get(second.id)).toBeUndefined()
      nextFrame()
      expect(recordsOf(doc).get(second.id)).toMatchObject({ x: 2 })
      expect(sent.length).toBe(2)
    })
  })
})
