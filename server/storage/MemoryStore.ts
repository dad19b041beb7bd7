import * as Y from 'yjs'
import { MemoryCatalog, type MemoryCatalogData, memoryCatalogData } from './memoryCatalog'
import type { BoardCatalog, Store, StoredRoom } from './Store'

/** What a MemoryStore keeps: each room's log, and the catalog. Hand the same one to a new store to "reopen". */
export interface MemoryStoreData {
  logs: Map<string, Uint8Array[]>
  catalog: MemoryCatalogData
}

export const memoryStoreData = (): MemoryStoreData => ({ logs: new Map(), catalog: memoryCatalogData() })

/**
 * A Store in this process's memory: the contract's semantics without a disk, for tests
 * of the room core (and anything else that wants a store that cannot fail on its own).
 * Nothing survives the process.
 *
 * @example
 * const data = memoryStoreData()
 * const store = new MemoryStore(data)
 * await store.append('room1', update)
 * await new MemoryStore(data).load('room1') // the same log
 */
export class MemoryStore implements Store {
  private closed = false
  readonly catalog: BoardCatalog

  constructor(readonly data: MemoryStoreData = memoryStoreData()) {
    this.catalog = new MemoryCatalog(
      data.catalog,
      (roomId) => data.logs.delete(roomId),
      () => [...data.logs.keys()],
      (roomId) => [...(data.logs.get(roomId) ?? [])],
    )
  }

  async load(roomId: string): Promise<StoredRoom | null> {
    this.check()
    const log = this.data.logs.get(roomId)
    if (!log || log.length === 0) return null
    let bytes = 0
    for (const entry of log) bytes += entry.length
    return { update: log.length === 1 ? log[0]! : Y.mergeUpdates(log), entries: log.length, bytes }
  }

  async append(roomId: string, update: Uint8Array): Promise<void> {
    this.check()
    // A copy: the caller may reuse its buffer, as it may with a real store.
    const entry = update.slice()
    const log = this.data.logs.get(roomId)
    if (log) log.push(entry)
    else this.data.logs.set(roomId, [entry])
  }

  async compact(roomId: string, state: Uint8Array): Promise<void> {
    this.check()
    this.data.logs.set(roomId, [state.slice()])
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private check(): void {
    if (this.closed) throw new Error('the store is closed')
  }
}
