import pino from 'pino'
import { expect, test } from 'vitest'
import * as Y from 'yjs'
import { MemoryStore } from '../storage/MemoryStore'
import type { StoredRoom } from '../storage/Store'
import { Room } from './Room'
import { LIMITS } from './Room.fixtures'
import { RoomRegistry } from './RoomRegistry'

const log = pino({ level: 'silent' })

/** A MemoryStore whose loads wait until the test lets them go. */
class GatedStore extends MemoryStore {
  loads = 0
  private opened = false
  private gates: Array<() => void> = []
  override async load(roomId: string): Promise<StoredRoom | null> {
    this.loads++
    if (!this.opened) await new Promise<void>((resolve) => this.gates.push(resolve))
    return super.load(roomId)
  }
  /** Lets every load through, those waiting and those to come. */
  open(): void {
    this.opened = true
    for (const gate of this.gates.splice(0)) gate()
  }
}

function registry(store: MemoryStore, forgotten: string[] = []) {
  return new RoomRegistry({
    create: (roomId) =>
      new Room(roomId, {
        store,
        log,
        tag: roomId,
        requestFlush: () => undefined,
        compactAfterBytes: 1 << 20,
        compactAfterEntries: 1000,
        limits: LIMITS,
      }),
    log,
    unloadDelayMs: 0,
    forget: (roomId) => forgotten.push(roomId),
  })
}

test('[S8] concurrent claims of an unloaded room load it once and share it', async () => {
  const store = new GatedStore()
  const rooms = registry(store)
  const claims = [rooms.acquire('r'), rooms.acquire('r'), rooms.acquire('r')]
  store.open()
  const handles = await Promise.all(claims)
  expect(store.loads).toBe(1)
  expect(new Set(handles.map((h) => h.room)).size).toBe(1)
})

test('[S9] a room is unloaded only once every claim is released, and its bookkeeping is forgotten once', async () => {
  const store = new MemoryStore()
  const forgotten: string[] = []
  const rooms = registry(store, forgotten)
  const a = await rooms.acquire('r')
  const b = await rooms.acquire('r')
  a.release()
  a.release() // idempotent: does not count as b's release
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(rooms.size).toBe(1)
  b.release()
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(rooms.size).toBe(0)
  expect(forgotten).toEqual(['r'])
})

test('shutdown waits for rooms still loading, so none lands after the store closed', async () => {
  const store = new GatedStore()
  await store.append('r', Y.encodeStateAsUpdate(new Y.Doc()))
  const rooms = registry(store)
  const claim = rooms.acquire('r')
  const unloaded = rooms.unloadAll()
  let done = false
  void unloaded.then(() => (done = true))
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(done).toBe(false)
  store.open()
  const handle = await claim
  await unloaded
  expect(handle.room.state).toBe('closed')
  expect(rooms.size).toBe(0)
})

test('[S10] a load that fails rejects every claim, and a later claim loads again', async () => {
  const store = new MemoryStore()
  let fail = true
  const original = store.load.bind(store)
  store.load = async (roomId) => {
    if (fail) throw new Error('database down')
    return original(roomId)
  }
  const rooms = registry(store)
  await expect(Promise.all([rooms.acquire('r'), rooms.acquire('r')])).rejects.toThrow('database down')
  expect(rooms.size).toBe(0)
  fail = false
  const handle = await rooms.acquire('r')
  expect(handle.room.state).toBe('ready')
})
