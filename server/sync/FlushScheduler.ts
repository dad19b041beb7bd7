import { performance } from 'node:perf_hooks'

/** Something that sends what it collected when told to: a room. */
export interface Flushable {
  readonly id: string
  flush(): Promise<void>
}

export interface FlushSchedulerOptions {
  /** A busy room flushes at most this often (ms); 0 flushes at the end of every turn. */
  intervalMs: number
  /**
   * While the server itself is busy, the interval stretches up to this (ms; default and
   * at least `intervalMs`, which keeps it fixed).
   */
  busyIntervalMs?: number
  /** How busy the event loop was since the last call, 0 to 1 (default: Node's event-loop utilization). */
  load?: () => number
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
 * - While the server is busy (its event loop more than 70 % busy over a quarter of a
 *   second), the interval stretches step by step up to `busyIntervalMs`, and it comes back
 *   once the loop is under 45 % busy. Fewer, fuller writes are what lets a loaded server
 *   keep up; a quiet one keeps its short interval, and so its low latency.
 * - After the turn's flushes, the tasks queued for the end of the turn run: the
 *   WriteBatch uncorks the sockets, so a peer's frames of this turn leave in one write.
 *
 * @example
 * const scheduler = new FlushScheduler({ intervalMs: 16, busyIntervalMs: 32, onError: (err, room) => log.error({ err, room: room.id }) })
 * const writes = new WriteBatch((release) => scheduler.atEndOfTurn(release))
 * scheduler.request(room) // room.flush() runs at the end of this turn, or once the interval has passed
 */
/** How often the load is read (ms): short enough to follow a surge, long enough to be a fair average. */
const LOAD_WINDOW_MS = 250
/** Above this share of busy event-loop time the interval grows; below CALM_LOAD it shrinks back. */
const BUSY_LOAD = 0.7
const CALM_LOAD = 0.45
/** Steps from the interval to the busy interval. */
const INTERVAL_STEPS = 2

/** The event loop's utilization since the previous call (0 to 1), from Node's own counters. */
function eventLoopLoad(): () => number {
  let last = performance.eventLoopUtilization()
  return () => {
    const now = performance.eventLoopUtilization()
    const share = performance.eventLoopUtilization(now, last).utilization
    last = now
    return share
  }
}

export class FlushScheduler {
  private readonly due = new Set<Flushable>()
  private readonly waiting = new Map<Flushable, NodeJS.Timeout>()
  private readonly lastFlushAt = new WeakMap<Flushable, number>()
  private tasks: Array<() => void> = []
  private turnScheduled = false
  private readonly busyIntervalMs: number
  private readonly load: () => number
  private interval: number
  private loadReadAt: number

  constructor(private readonly options: FlushSchedulerOptions) {
    this.interval = options.intervalMs
    this.busyIntervalMs = Math.max(options.intervalMs, options.busyIntervalMs ?? options.intervalMs)
    this.load = options.load ?? eventLoopLoad()
    this.loadReadAt = Date.now()
  }

  /** The interval a busy room flushes at now (ms): longer while the server is busy. */
  get intervalMs(): number {
    return this.interval
  }

  /** `room` has something to send. */
  request(room: Flushable): void {
    if (this.due.has(room) || this.waiting.has(room)) return
    const now = Date.now()
    const wait = (this.lastFlushAt.get(room) ?? -Infinity) + this.currentInterval(now) - now
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

  /** Re-reads the server's load every LOAD_WINDOW_MS and moves the interval one step towards what it calls for. */
  private currentInterval(now: number): number {
    const base = this.options.intervalMs
    if (this.busyIntervalMs === base || now - this.loadReadAt < LOAD_WINDOW_MS) return this.interval
    this.loadReadAt = now
    const load = this.load()
    const step = Math.max(1, (this.busyIntervalMs - base) / INTERVAL_STEPS)
    if (load > BUSY_LOAD) this.interval = Math.min(this.busyIntervalMs, this.interval + step)
    else if (load < CALM_LOAD) this.interval = Math.max(base, this.interval - step)
    return this.interval
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
