/** Something that sends what it collected when told to: a room. */
export interface Flushable {
  readonly id: string
  flush(): Promise<void>
}

export interface FlushSchedulerOptions {
  /** A busy room flushes at most this often (ms); 0 flushes at the end of every turn. */
  intervalMs: number
  /** A flush that failed; the room has dealt with its own connections. */
  onError(err: unknown, room: Flushable): void
}

/**
 * Decides when rooms send. The one clock of the fan-out path:
 *
 * - The first change after a quiet spell goes out at the end of the event-loop turn that
 *   received it (setImmediate runs after all socket reads of the turn, so everything a
 *   room got in one turn leaves as one flush).
 * - While changes keep coming, a room flushes at most every `intervalMs`, so each send to
 *   each peer carries several of them: one system call per peer per flush is what costs.
 * - After the turn's flushes, the tasks queued for the end of the turn run: the
 *   WriteBatch uncorks the sockets, so a peer's frames of this turn leave in one write.
 *
 * @example
 * const scheduler = new FlushScheduler({ intervalMs: 16, onError: (err, room) => log.error({ err, room: room.id }) })
 * const writes = new WriteBatch((release) => scheduler.atEndOfTurn(release))
 * scheduler.request(room) // room.flush() runs at the end of this turn, or once the interval has passed
 */
export class FlushScheduler {
  private readonly due = new Set<Flushable>()
  private readonly waiting = new Map<Flushable, NodeJS.Timeout>()
  private readonly lastFlushAt = new WeakMap<Flushable, number>()
  private tasks: Array<() => void> = []
  private turnScheduled = false

  constructor(private readonly options: FlushSchedulerOptions) {}

  /** `room` has something to send. */
  request(room: Flushable): void {
    if (this.due.has(room) || this.waiting.has(room)) return
    const wait = (this.lastFlushAt.get(room) ?? -Infinity) + this.options.intervalMs - Date.now()
    if (wait <= 0) {
      this.due.add(room)
      this.scheduleTurnEnd()
      return
    }
    const timer = setTimeout(() => {
      this.waiting.delete(room)
      this.due.add(room)
      this.scheduleTurnEnd()
    }, wait)
    timer.unref()
    this.waiting.set(room, timer)
  }

  /** Runs `task` at the end of this turn, after the rooms due in it have flushed. */
  atEndOfTurn(task: () => void): void {
    this.tasks.push(task)
    this.scheduleTurnEnd()
  }

  /** Flushes every room that asked, now, without waiting for its interval (shutdown). */
  flushAll(): void {
    for (const [room, timer] of this.waiting) {
      clearTimeout(timer)
      this.due.add(room)
    }
    this.waiting.clear()
    this.endTurn()
  }

  private scheduleTurnEnd(): void {
    if (this.turnScheduled) return
    this.turnScheduled = true
    setImmediate(this.endTurn)
  }

  private readonly endTurn = (): void => {
    this.turnScheduled = false
    // Flushes may queue tasks (their sends hold sockets): run until both are drained.
    while (this.due.size > 0 || this.tasks.length > 0) {
      const now = Date.now()
      const rooms = [...this.due]
      this.due.clear()
      for (const room of rooms) {
        this.lastFlushAt.set(room, now)
        room.flush().catch((err: unknown) => this.options.onError(err, room))
      }
      const tasks = this.tasks
      this.tasks = []
      for (const task of tasks) task()
    }
  }
}
