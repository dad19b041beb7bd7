/**
 * The contract of `store.catalog` (boards and versions), run on every store through
 * `storeContract`.
 */
import { describe, expect, test } from 'vitest'
import { YKeyValue } from 'y-utility/y-keyvalue'
import * as Y from 'yjs'
import type { NewVersion, Store } from './Store'

/** A board-like document of `count` records, ~600 bytes each. */
function board(count: number): Y.Doc {
  const doc = new Y.Doc()
  const kv = new YKeyValue<unknown>(doc.getArray('records'))
  doc.transact(() => {
    for (let i = 0; i < count; i++) kv.set(`shape:${i}`, { id: `shape:${i}`, typeName: 'shape', x: i, text: 'y'.repeat(560) })
  })
  return doc
}

const records = (state: Uint8Array) => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  return new YKeyValue<{ x: number }>(doc.getArray('records'))
}

const version = (state: Uint8Array, extra: Partial<NewVersion> = {}): NewVersion => ({
  createdAt: Date.now(),
  reason: 'quiet',
  name: null,
  shapes: 0,
  editors: ['Ada'],
  state,
  ...extra,
})

export function catalogContract(name: string, open: () => Promise<{ store: Store; reopen: () => Promise<Store> }>): void {
  describe(`Catalog contract: ${name}`, () => {
    test('boards: a row per board, patched, listed, trashed, with link generations, after reopening', async () => {
      const { store, reopen } = await open()
      expect(await store.catalog.board('unknown')).toBeNull()
      await store.catalog.noteBoard('board-a', { title: 'Plans', shapes: 3, bytes: 900, changedAt: 1000 })
      await store.catalog.noteBoard('board-a', { openedAt: 2000 })
      await store.catalog.noteBoard('board-b', { changedAt: 5000 })
      expect(await store.catalog.bumpLinkGeneration('board-a')).toBe(1)
      expect(await store.catalog.bumpLinkGeneration('board-a')).toBe(2)
      await store.catalog.setDeleted('board-b', 7000)
      await store.close()
      const again = await reopen()
      expect(await again.catalog.board('board-a')).toMatchObject({
        roomId: 'board-a',
        title: 'Plans',
        shapes: 3,
        bytes: 900,
        changedAt: 1000,
        openedAt: 2000,
        deletedAt: null,
        linkGeneration: 2,
      })
      expect((await again.catalog.board('board-b'))?.deletedAt).toBe(7000)
      expect((await again.catalog.boards()).map((b) => b.roomId)).toEqual(['board-b', 'board-a'])
      expect((await again.catalog.boardsOf(['board-a', 'unknown', 'board-b'])).map((b) => [b.roomId, b.deletedAt]).sort()).toEqual([
        ['board-a', null],
        ['board-b', 7000],
      ])
      expect(await again.catalog.boardsOf([])).toEqual([])
      await again.catalog.setDeleted('board-b', null)
      expect((await again.catalog.board('board-b'))?.deletedAt).toBeNull()
      await again.close()
    })

    test('versions: stored, listed newest first, read back, deduplicated, named ones always kept', async () => {
      const { store, reopen } = await open()
      const doc = board(5)
      const first = await store.catalog.addVersion('v-room', version(Y.encodeStateAsUpdate(doc), { createdAt: 1000, shapes: 5 }))
      expect(first).toMatchObject({ reason: 'quiet', shapes: 5, editors: ['Ada'], name: null })
      // Nothing changed: no new version; but a name makes one.
      expect(await store.catalog.addVersion('v-room', version(Y.encodeStateAsUpdate(doc), { createdAt: 2000 }))).toBeNull()
      const named = await store.catalog.addVersion(
        'v-room',
        version(Y.encodeStateAsUpdate(doc), { createdAt: 2000, reason: 'named', name: 'Kick-off' }),
      )
      expect(named?.name).toBe('Kick-off')
      new YKeyValue<unknown>(doc.getArray('records')).set('shape:0', { id: 'shape:0', typeName: 'shape', x: 999 })
      const third = await store.catalog.addVersion('v-room', version(Y.encodeStateAsUpdate(doc), { createdAt: 3000 }))
      await store.close()
      const again = await reopen()
      const list = await again.catalog.versions('v-room')
      expect(list.map((v) => v.id)).toEqual([third!.id, named!.id, first!.id])
      expect(list[0]!.createdAt).toBe(3000)
      expect(records((await again.catalog.versionState('v-room', first!.id))!).get('shape:0')?.x).toBe(0)
      expect(records((await again.catalog.versionState('v-room', third!.id))!).get('shape:0')?.x).toBe(999)
      // Another board's version is not this board's.
      expect(await again.catalog.versionState('other-room', first!.id)).toBeNull()
      expect(await again.catalog.versions('other-room')).toEqual([])
      await again.close()
    })

    test('a version of a big board where one record changed is stored as a small diff', async () => {
      const { store } = await open()
      const doc = board(1000)
      const full = await store.catalog.addVersion('big-room', version(Y.encodeStateAsUpdate(doc)))
      new YKeyValue<unknown>(doc.getArray('records')).set('shape:7', { id: 'shape:7', typeName: 'shape', x: -1, text: 'moved' })
      const small = await store.catalog.addVersion('big-room', version(Y.encodeStateAsUpdate(doc)))
      expect(full!.storedBytes).toBeGreaterThan(500_000)
      expect(small!.bytes).toBeGreaterThan(500_000)
      expect(small!.storedBytes).toBeLessThan(5_000)
      const state = await store.catalog.versionState('big-room', small!.id)
      expect(records(state!).get('shape:7')?.x).toBe(-1)
      expect(records(state!).get('shape:999')?.x).toBe(999)
      await store.close()
    })

    test('deleting versions never takes the newest, and a keyframe others need stays (hidden)', async () => {
      const { store } = await open()
      const doc = board(200)
      const kv = new YKeyValue<unknown>(doc.getArray('records'))
      const ids: string[] = []
      for (let i = 0; i < 4; i++) {
        kv.set('shape:1', { id: 'shape:1', typeName: 'shape', x: 100 + i })
        ids.push((await store.catalog.addVersion('d-room', version(Y.encodeStateAsUpdate(doc), { createdAt: 1000 + i })))!.id)
      }
      // ids[0] is the keyframe the others are diffs against.
      await store.catalog.deleteVersions('d-room', [ids[0]!, ids[1]!, ids[3]!])
      expect((await store.catalog.versions('d-room')).map((v) => v.id)).toEqual([ids[3], ids[2]])
      expect(records((await store.catalog.versionState('d-room', ids[2]!))!).get('shape:1')?.x).toBe(102)
      expect(records((await store.catalog.versionState('d-room', ids[3]!))!).get('shape:1')?.x).toBe(103)
      await store.close()
    })

    test('purge: the log, the versions and the row, gone', async () => {
      const { store } = await open()
      const doc = board(3)
      await store.append('p-room', Y.encodeStateAsUpdate(doc))
      await store.catalog.noteBoard('p-room', { title: 'Doomed' })
      await store.catalog.addVersion('p-room', version(Y.encodeStateAsUpdate(doc)))
      await store.catalog.purge('p-room')
      expect(await store.load('p-room')).toBeNull()
      expect(await store.catalog.board('p-room')).toBeNull()
      expect(await store.catalog.versions('p-room')).toEqual([])
      // The room id can be used again from scratch.
      await store.append('p-room', Y.encodeStateAsUpdate(board(1)))
      expect((await store.load('p-room'))?.entries).toBe(1)
      await store.close()
    })

    test('[S116] board locks: a second lock of the same board is refused until the first is released; other boards are free', async () => {
      const { store } = await open()
      const first = await store.catalog.lock('l-room', 'purge')
      await expect(store.catalog.lock('l-room', 'undelete')).rejects.toThrow(/another operation on this board is running/)
      const other = await store.catalog.lock('l-other', 'delete')
      await first.release()
      const again = await store.catalog.lock('l-room', 'delete')
      await again.release()
      await other.release()
      await store.close()
    })

    test('storedRooms: every room with a log, in the catalog or not yet', async () => {
      const { store } = await open()
      await store.append('s-room-a', Y.encodeStateAsUpdate(board(1)))
      await store.append('s-room-b', Y.encodeStateAsUpdate(board(1)))
      expect((await store.catalog.storedRooms()).sort()).toEqual(['s-room-a', 's-room-b'])
      expect(await store.catalog.logEntries('s-room-a')).toHaveLength(1)
      expect(await store.catalog.logEntries('s-room-none')).toEqual([])
      await store.catalog.addVersion('s-room-a', version(Y.encodeStateAsUpdate(board(2))))
      expect(await store.catalog.versionData('s-room-a')).toHaveLength(1)
      expect(await store.catalog.versionData('s-room-b')).toEqual([])
      await store.close()
    })
  })
}
