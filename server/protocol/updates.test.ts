import { expect, test } from 'vitest'
import * as Y from 'yjs'
import { checkUpdateV1, deletionsUpdate } from './updates'

test('[S135] deletionsUpdate carries exactly the deletions of a transaction, for several clients and ranges', () => {
  // Two writers' items, interleaved, so the deletions are several ranges of several clients.
  const [one, two] = [new Y.Doc(), new Y.Doc()]
  const sync = () => {
    Y.applyUpdate(two, Y.encodeStateAsUpdate(one))
    Y.applyUpdate(one, Y.encodeStateAsUpdate(two))
  }
  for (let i = 0; i < 6; i++) {
    one.getArray<string>('list').push([`one-${i}`])
    sync()
    two.getArray<string>('list').push([`two-${i}`])
    sync()
  }
  const peer = new Y.Doc()
  Y.applyUpdate(peer, Y.encodeStateAsUpdate(one))
  let deleted: Uint8Array | null = null
  one.on('afterTransaction', (tr: Y.Transaction) => {
    deleted = deletionsUpdate(tr.deleteSet)
  })
  const list = one.getArray<string>('list')
  one.transact(() => {
    list.delete(10, 1)
    list.delete(4, 3)
    list.delete(0, 1)
  })
  const update = deleted as Uint8Array | null
  expect(update).not.toBeNull()
  const info = checkUpdateV1(update!)
  expect(info).toMatchObject({ empty: false, clients: [] })
  Y.applyUpdate(peer, update!)
  expect(peer.getArray('list').toJSON()).toEqual(list.toJSON())
  expect(peer.getArray('list').length).toBe(7)
  // Nothing else: the peer's state vector did not move.
  expect(Y.encodeStateVector(peer)).toEqual(Y.encodeStateVector(one))
})
