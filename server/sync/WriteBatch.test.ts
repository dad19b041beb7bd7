import { Writable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { expect, test } from 'vitest'
import { WriteBatch } from './WriteBatch'

test('WriteBatch: the writes of one turn reach the stream as one batch, after the turn', async () => {
  const writes: number[] = []
  const stream = new Writable({
    write(_chunk, _encoding, done) {
      writes.push(1)
      done()
    },
    writev(chunks, done) {
      writes.push(chunks.length)
      done()
    },
  })
  const batch = new WriteBatch()
  batch.hold(stream)
  stream.write('awareness')
  batch.hold(stream)
  stream.write('update 1')
  stream.write('update 2')
  expect(writes).toEqual([])
  await nextTurn()
  expect(writes).toEqual([3])
  // The next turn holds again.
  batch.hold(stream)
  stream.write('later')
  expect(writes).toEqual([3])
  await nextTurn()
  expect(writes).toEqual([3, 1])
})
