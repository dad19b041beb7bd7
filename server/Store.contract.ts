/**
 * The contract every Store implementation must keep. Each implementation's test file
 * calls `storeContract` with a factory; see SqliteStore.test.ts.
 */
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import type { Store } from './Store'

function update(doc: Y.Doc, change: (doc: Y.Doc) => void): Uint8Array {
  const before = Y.encodeStateVector(doc)
  change(doc)
  return Y.encodeStateAsUpdate(doc, before)
}

export function storeContract(name: string, open: () => Promise<{ store: Store; reopen: () => Promise<Store> }>): void {
  describe(`Store contract: ${name}`, () => {
    test('a room never written loads as null', async () => {
      const { store } = await open()
      expect(await store.load('nobody-here')).toBeNull()
      await store.close()
    })

    test('appended updates load back merged, per room, after reopening', async () => {
      const { store, reopen } = await open()
      const doc = new Y.Doc()
      for (let i = 0; i < 10; i++) await store.append('room-a', update(doc, (d) => d.getArray('a').push([i])))
      await store.append('room-b', update(new Y.Doc(), (d) => d.getText('t').insert(0, 'other room')))
      await store.close()
      const again = await reopen()
      const loaded = await again.load('room-a')
      expect(loaded?.entries).toBe(10)
      const copy = new Y.Doc()
      Y.applyUpdate(copy, loaded!.update)
      expect(copy.getArray('a').toJSON()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(copy.getText('t').toString()).toBe('')
      await again.close()
    })

    test('compaction replaces the log by one snapshot with the same content', async () => {
      const { store } = await open()
      const doc = new Y.Doc()
      for (let i = 0; i < 20; i++) await store.append('room-c', update(doc, (d) => d.getMap('m').set(`k${i % 3}`, i)))
      await store.compact('room-c', Y.encodeStateAsUpdate(doc))
      const loaded = await store.load('room-c')
      expect(loaded?.entries).toBe(1)
      const copy = new Y.Doc()
      Y.applyUpdate(copy, loaded!.update)
      expect(copy.getMap('m').toJSON()).toEqual(doc.getMap('m').toJSON())
      // Appends after compaction add to the snapshot.
      await store.append('room-c', update(doc, (d) => d.getMap('m').set('after', true)))
      const later = await store.load('room-c')
      expect(later?.entries).toBe(2)
      const copy2 = new Y.Doc()
      Y.applyUpdate(copy2, later!.update)
      expect(copy2.getMap('m').get('after')).toBe(true)
      await store.close()
    })
  })
}
