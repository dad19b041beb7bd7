import * as Y from 'yjs'
import type { Store, StoredRoom } from './Store'

/** What a MemoryStore keeps: each room's log. Hand the same one to a new store to "reopen". */
export type MemoryStoreData = Map<string, Uint8Array[]>

/**
 * A Store in this process's memory: the contract's semantics without a disk, for tests
 * of the room core (and anything else that wants a store that cannot fail on its own).
 * Nothing survives the process.
 *
 * @example
 * const data: MemoryStoreData = new Map()
 * const store = new MemoryStore(data)
 * await store.append('room1', update)
 * await new MemoryStore(data).load('room1') // the same log
 */
export class MemoryStore implements Store {
  private closed = false

  constructor(readonly data: MemoryStoreData = new Map()) {}

  async load(roomId: string): Promise<StoredRoom | null> {
    this.check()
    const log = this.data.get(roomId)
    if (!log || log.length === 0) return null
    let bytes = 0
    for (const entry of log) bytes += entry.length
    return { update: log.length === 1 ? log[0]! : Y.mergeUpdates(log), entries: log.length, bytes }
  }

  async append(roomId: string, update: Uint8Array): Promise<void> {
    this.check()
    // A copy: the caller may reuse its buffer, as it may with a real store.
    const entry = update.slice()
    const log = this.data.get(roomId)
    if (log) log.push(entry)
    else this.data.set(roomId, [entry])
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    this.check()
    this.data.set(roomId, [state.slice()])
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private check(): void {
    if (this.closed) throw new Error('the store is closed')
  }
}
