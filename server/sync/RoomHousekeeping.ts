/**
 * The sync server's rounds over its loaded rooms, on their own clocks:
 *
 * - **dormancy**: a few times per `dormantAfterMs` (at most every 5 s), still boards are put
 *   to sleep, a slice of about 10 ms at a time (encoding a board costs a few milliseconds
 *   per 100 KB, and thousands may fall still together), so joins and changes elsewhere
 *   are not held up behind the sweep; then the MemoryReleaser may hand their memory back;
 * - **board checks**: every `boardCheckIntervalMs`, every loaded room's catalog row is read
 *   again, 500 rooms to a query, so a board deleted or restored by `npm run boards` (another
 *   process) is acted on; a round still running when the next is due lets it pass.
 *
 * @example
 * const housekeeping = new RoomHousekeeping({ rooms, store, log, dormantAfterMs: 30_000, memoryReleaseBytes: 8 << 20 })
 * housekeeping.stop()
 */
import type { Logger } from 'pino'
import type { RoomRegistry } from '../room/RoomRegistry'
import type { Store } from '../storage/Store'
import { MemoryReleaser } from './MemoryReleaser'

export interface RoomHousekeepingOptions {
  rooms: RoomRegistry
  store: Store
  log: Logger
  dormantAfterMs: number
  /** See MemoryReleaser; 0: never. */
  memoryReleaseBytes: number
  /** 0 or absent: no board checks. */
  boardCheckIntervalMs?: number
}

export class RoomHousekeeping {
  private readonly dormancy: NodeJS.Timeout
  private readonly boardCheck: NodeJS.Timeout | null = null
  private readonly memory: MemoryReleaser
  private sweeping = false
  private checkingBoards = false
  private stopped = false

  constructor(private readonly options: RoomHousekeepingOptions) {
    this.memory = new MemoryReleaser({ thresholdBytes: options.memoryReleaseBytes, minIntervalMs: 10_000, log: options.log })
    this.dormancy = setInterval(() => this.sweepDormant(), Math.min(5000, Math.max(250, options.dormantAfterMs / 4)))
    this.dormancy.unref()
    if (options.boardCheckIntervalMs) {
      this.boardCheck = setInterval(() => void this.checkBoards(), options.boardCheckIntervalMs)
      this.boardCheck.unref()
    }
  }

  private sweepDormant(): void {
    if (this.sweeping || this.stopped) return
    this.sweeping = true
    const rooms = [...this.options.rooms.values()]
    let next = 0
    const slice = () => {
      const until = performance.now() + 10
      const now = Date.now()
      while (next < rooms.length && performance.now() < until && !this.stopped) {
        this.memory.noteSlept(rooms[next++]!.sleepIfIdle(now, this.options.dormantAfterMs))
      }
      if (next < rooms.length && !this.stopped) return void setImmediate(slice)
      this.sweeping = false
      this.memory.sweepEnded()
    }
    slice()
  }

  /** One round of board checks (see the module comment). */
  async checkBoards(): Promise<void> {
    if (this.checkingBoards || this.stopped) return
    this.checkingBoards = true
    const { rooms: registry, store, log } = this.options
    try {
      const rooms = [...registry.values()].filter((room) => room.state === 'ready' || room.state === 'paused')
      for (let i = 0; i < rooms.length; i += 500) {
        // SQLite reads synchronously: between batches, everything else gets its turn.
        if (i > 0) await new Promise((resolve) => setImmediate(resolve))
        if (this.stopped) return
        const batch = rooms.slice(i, i + 500)
        let rows
        try {
          rows = new Map((await store.catalog.boardsOf(batch.map((r) => r.id))).map((b) => [b.roomId, b]))
        } catch (err) {
          log.warn({ err, rooms: batch.length }, 'could not read loaded boards again from the catalog; trying at the next check')
          continue
        }
        for (const room of batch) if (registry.get(room.id) === room) room.applyBoard(rows.get(room.id) ?? null)
      }
    } finally {
      this.checkingBoards = false
    }
  }

  stop(): void {
    this.stopped = true
    clearInterval(this.dormancy)
    if (this.boardCheck) clearInterval(this.boardCheck)
    this.memory.stop()
  }
}
