/**
 * The contract every Store implementation must keep. Each implementation's test file
 * calls `storeContract` with a factory; see SqliteStore.test.ts.
 */
import { describe, expect, test } from 'vitest'
import * as Y from 'yjs'
import { catalogContract } from './Catalog.contract'
import type { SharedStore, Store } from './Store'

function update(doc: Y.Doc, change: (doc: Y.Doc) => void): Uint8Array {
  const before = Y.encodeStateVector(doc)
  change(doc)
  return Y.encodeStateAsUpdate(doc, before)
}

export function storeContract(name: string, open: () => Promise<{ store: Store; reopen: () => Promise<Store> }>): void {
  catalogContract(name, open)
  describe(`Store contract: ${name}`, () => {
    test('a room never written loads as null', async () => {
      const { store } = await open()
      expect(await store.load('nobody-here')).toBeNull()
      await store.close()
    })

    test('appended updates load back merged, per room, after reopening', async () => {
      const { store, reopen } = await open()
      const doc = new Y.Doc()
      for (let i = 0; i < 10; i++)
        await store.append(
          'room-a',
          update(doc, (d) => d.getArray('a').push([i])),
        )
      await store.append(
        'room-b',
        update(new Y.Doc(), (d) => d.getText('t').insert(0, 'other room')),
      )
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
      for (let i = 0; i < 20; i++)
        await store.append(
          'room-c',
          update(doc, (d) => d.getMap('m').set(`k${i % 3}`, i)),
        )
      await store.compact('room-c', Y.encodeStateAsUpdate(doc))
      const loaded = await store.load('room-c')
      expect(loaded?.entries).toBe(1)
      const copy = new Y.Doc()
      Y.applyUpdate(copy, loaded!.update)
      expect(copy.getMap('m').toJSON()).toEqual(doc.getMap('m').toJSON())
      // Appends after compaction add to the snapshot.
      await store.append(
        'room-c',
        update(doc, (d) => d.getMap('m').set('after', true)),
      )
      const later = await store.load('room-c')
      expect(later?.entries).toBe(2)
      const copy2 = new Y.Doc()
      Y.applyUpdate(copy2, later!.update)
      expect(copy2.getMap('m').get('after')).toBe(true)
      await store.close()
    })
  })
}

/**
 * What a store shared by several instances adds (`SharedStore.catchUp`). `open` returns two
 * stores on the same data, standing for two instances.
 */
export function sharedStoreContract(name: string, open: () => Promise<{ a: SharedStore; b: SharedStore }>): void {
  const read = (...updates: Array<Uint8Array | null | undefined>) => {
    const doc = new Y.Doc()
    for (const u of updates) if (u) Y.applyUpdate(doc, u)
    return doc
  }

  describe(`SharedStore contract: ${name}`, () => {
    test("catchUp returns what other instances appended since the load, and not one's own", async () => {
      const { a, b } = await open()
      const docA = new Y.Doc()
      const docB = new Y.Doc()
      await b.append(
        'shared-1',
        update(docB, (d) => d.getArray('b').push(['before'])),
      )
      const loaded = await a.load('shared-1')
      expect(await a.catchUp('shared-1')).toBeNull()
      await a.append(
        'shared-1',
        update(docA, (d) => d.getArray('a').push(['mine'])),
      )
      expect(await a.catchUp('shared-1')).toBeNull()
      await b.append(
        'shared-1',
        update(docB, (d) => d.getArray('b').push(['after'])),
      )
      const news = await a.catchUp('shared-1')
      expect(news).not.toBeNull()
      const authors = new Set(Y.decodeUpdate(news!).structs.map((s) => s.id.client))
      expect([...authors]).toEqual([docB.clientID])
      expect(read(loaded?.update, news).getArray('b').toJSON()).toEqual(['before', 'after'])
      // Read once, not again.
      expect(await a.catchUp('shared-1')).toBeNull()
    })

    test('[S25] a snapshot taken while another writer appends loses none of its entries', async () => {
      // Two instances on one store: `other` appends what `store`'s document never saw.
      const { a: store, b: other } = await open()
      const mine = new Y.Doc()
      const theirs = new Y.Doc()
      for (let round = 0; round < 5; round++) {
        const appends: Array<Promise<void>> = []
        for (let i = 0; i < 10; i++) {
          appends.push(
            other.append(
              'room-d',
              update(theirs, (d) => d.getArray('theirs').push([`${round}-${i}`])),
            ),
          )
        }
        await store.append(
          'room-d',
          update(mine, (d) => d.getArray('mine').push([round])),
        )
        await Promise.all([store.compact('room-d', Y.encodeStateAsUpdate(mine)), ...appends])
      }
      const copy = new Y.Doc()
      Y.applyUpdate(copy, (await store.load('room-d'))!.update)
      expect(copy.getArray('mine').toJSON()).toEqual([0, 1, 2, 3, 4])
      expect(copy.getArray('theirs').length).toBe(50)
      expect(copy.getArray('theirs').toJSON()).toEqual(theirs.getArray('theirs').toJSON())
    })

    test('catchUp after another instance compacted returns content the reader lacked', async () => {
      const { a, b } = await open()
      const docB = new Y.Doc()
      await a.load('shared-2')
      for (let i = 0; i < 3; i++)
        await b.append(
          'shared-2',
          update(docB, (d) => d.getArray('b').push([i])),
        )
      await b.compact('shared-2', Y.encodeStateAsUpdate(docB))
      expect(
        read(await a.catchUp('shared-2'))
          .getArray('b')
          .toJSON(),
      ).toEqual([0, 1, 2])
    })

    test("two instances appending at once each catch up with all of the other's entries", async () => {
      const { a, b } = await open()
      const docs = { a: new Y.Doc(), b: new Y.Doc() }
      const seen = { a: new Y.Doc(), b: new Y.Doc() }
      for (const side of ['a', 'b'] as const) {
        const stored = await (side === 'a' ? a : b).load('shared-3')
        if (stored) Y.applyUpdate(seen[side], stored.update)
      }
      const writes: Array<Promise<void>> = []
      for (let i = 0; i < 40; i++) {
        for (const side of ['a', 'b'] as const) {
          const u = update(docs[side], (d) => d.getArray(side).push([i]))
          Y.applyUpdate(seen[side], u)
          writes.push((side === 'a' ? a : b).append('shared-3', u))
        }
        // Catch-ups interleaved with appends still in flight.
        if (i % 5 === 0) {
          Y.applyUpdate(seen.a, (await a.catchUp('shared-3')) ?? new Uint8Array([0, 0]))
          Y.applyUpdate(seen.b, (await b.catchUp('shared-3')) ?? new Uint8Array([0, 0]))
        }
      }
      await Promise.all(writes)
      for (const side of ['a', 'b'] as const) {
        const news = await (side === 'a' ? a : b).catchUp('shared-3')
        if (news) Y.applyUpdate(seen[side], news)
      }
      const all = Array.from({ length: 40 }, (_, i) => i)
      for (const side of ['a', 'b'] as const) {
        expect(seen[side].getArray('a').toJSON()).toEqual(all)
        expect(seen[side].getArray('b').toJSON()).toEqual(all)
      }
    })
  })
}
