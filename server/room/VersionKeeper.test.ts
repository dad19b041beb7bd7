import pino from 'pino'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import * as Y from 'yjs'
import { MemoryStore } from '../storage/MemoryStore'
import { VersionKeeper } from './VersionKeeper'

const log = pino({ level: 'silent' })

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

function keeper(options: { afterQuietMs?: number; everyMs?: number; stored?: () => boolean } = {}) {
  const store = new MemoryStore()
  const doc = new Y.Doc()
  const k = new VersionKeeper({
    roomId: 'room',
    catalog: store.catalog,
    policy: {
      afterQuietMs: options.afterQuietMs ?? 1000,
      everyMs: options.everyMs ?? 5000,
      keepAllMs: 86_400_000,
      hourlyForMs: 30 * 86_400_000,
      maxBytes: 1 << 30,
    },
    log,
    snapshot: () =>
      options.stored?.() === false ? null : { state: Y.encodeStateAsUpdate(doc), shapes: doc.getArray('list').length, title: 'T' },
  })
  const edit = (editor: string | null = 'Ada') => {
    doc.getArray('list').push([Date.now()])
    k.changed(editor)
  }
  return { k, edit, versions: () => store.catalog.versions('room'), board: () => store.catalog.board('room') }
}

test('[S90] a version once changes are followed by a quiet spell; none while changes keep coming, until VERSION_EVERY_MS', async () => {
  const { edit, versions } = keeper({ afterQuietMs: 1000, everyMs: 5000 })
  edit()
  await vi.advanceTimersByTimeAsync(900)
  expect(await versions()).toHaveLength(0)
  edit('Bob')
  await vi.advanceTimersByTimeAsync(1100)
  const [quiet] = await versions()
  expect(quiet).toMatchObject({ reason: 'quiet', editors: ['Ada', 'Bob'], shapes: 2 })
  // Busy: an edit every 500 ms never leaves a quiet second, but every 5 s there is a version.
  for (let i = 0; i < 12; i++) {
    edit('Cy')
    await vi.advanceTimersByTimeAsync(500)
  }
  const list = await versions()
  expect(list.filter((v) => v.reason === 'periodic')).toHaveLength(1)
  expect(list[0]).toMatchObject({ reason: 'periodic', editors: ['Cy'] })
})

test('no change, no version; a board with changes not yet stored waits for them', async () => {
  let stored = false
  const { k, edit, versions, board } = keeper({ stored: () => stored })
  expect(await k.take('left')).toBeNull()
  edit()
  await vi.advanceTimersByTimeAsync(1500)
  expect(await versions()).toHaveLength(0)
  stored = true
  await vi.advanceTimersByTimeAsync(1500)
  expect(await versions()).toHaveLength(1)
  expect(await board()).toMatchObject({ title: 'T', shapes: 1 })
  expect(await k.take('left')).toBeNull()
})
