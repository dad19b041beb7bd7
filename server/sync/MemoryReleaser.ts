/**
 * Gives the operating system back the memory of boards that went to sleep.
 *
 * A board's Y.Doc takes several times its encoded size in memory. When boards go dormant
 * their documents become garbage and V8 collects them, but since Node 22 V8 keeps the heap
 * pages it emptied (a pool it reuses) and unmaps them only in a memory-reducing collection,
 * which nothing in a quiet server asks for: 2,000 sleeping boards kept ~400 KiB/room of
 * RSS that no JavaScript object used. So when a sweep of still boards ends and the boards
 * that went to sleep since the last release held `thresholdBytes` of encoded state between
 * them, one such collection runs (at most one per `minIntervalMs`; it pauses the whole
 * process for tens of milliseconds, about what one big board's wake-up costs).
 *
 * @example
 * const memory = new MemoryReleaser({ thresholdBytes: 8 << 20, minIntervalMs: 10_000, log })
 * memory.noteSlept(state.length) // for each board the sweep put to sleep
 * memory.sweepEnded()
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import type { Logger } from 'pino'

type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void

export interface MemoryReleaserOptions {
  /** Encoded bytes of boards gone to sleep that make a release worth its pause; 0: never. */
  thresholdBytes: number
  minIntervalMs: number
  log: Logger
}

export class MemoryReleaser {
  private slept = 0
  private lastRun = 0
  private timer: NodeJS.Timeout | null = null
  private collect: Collect | null = null

  constructor(private readonly options: MemoryReleaserOptions) {}

  /** A board holding `bytes` of encoded state went to sleep: its Y.Doc is garbage now. */
  noteSlept(bytes: number): void {
    if (bytes > 0) this.slept += bytes
  }

  /** A sweep is over: release now (or as soon as the interval allows) if enough went to sleep. */
  sweepEnded(): void {
    if (this.options.thresholdBytes <= 0) return
    if (this.slept >= this.options.thresholdBytes && !this.timer) {
      const wait = Math.max(0, this.lastRun + this.options.minIntervalMs - Date.now())
      this.timer = setTimeout(() => this.release(), wait)
      this.timer.unref()
    }
  }

  private release(): void {
    this.timer = null
    const slept = this.slept
    this.slept = 0
    this.lastRun = Date.now()
    const before = process.memoryUsage.rss()
    const started = performance.now()
    try {
      this.collector()({ type: 'major', execution: 'sync', flavor: 'last-resort' })
    } catch (err) {
      this.options.log.warn({ err }, 'could not release the memory of sleeping boards')
      return
    }
    this.options.log.info(
      {
        sleptMiB: +(slept / 2 ** 20).toFixed(1),
        rssBeforeMiB: +(before / 2 ** 20).toFixed(0),
        rssAfterMiB: +(process.memoryUsage.rss() / 2 ** 20).toFixed(0),
        ms: +(performance.now() - started).toFixed(0),
      },
      'released the memory of sleeping boards',
    )
  }

  /** V8's collector, which Node hands out with --expose-gc (set here for a fresh context). */
  private collector(): Collect {
    if (!this.collect) {
      const exposed = (globalThis as { gc?: Collect }).gc
      if (exposed) this.collect = exposed
      else {
        v8.setFlagsFromString('--expose-gc')
        this.collect = vm.runInNewContext('gc') as Collect
      }
    }
    return this.collect
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}
