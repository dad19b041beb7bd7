import type { Logger } from 'pino'
import type { BoardAdmin, SweepPolicy, SweepResult } from './BoardAdmin'

/** What the sweeps did since the server started: `/metrics` reads it. */
export interface SweepStats {
  sweeps: number
  errors: number
  /** Boards moved to the trash by BOARD_RETENTION_DAYS. */
  trashed: number
  /** Boards purged after BOARD_TRASH_DAYS in the trash. */
  purged: number
  /** Images purges deleted (no other board used them). */
  assetsDeleted: number
}

export interface BoardSweeperOptions {
  admin: BoardAdmin
  policy: SweepPolicy
  /** BOARD_SWEEP_INTERVAL_MS. The first sweep runs after a minute at most, so frequent restarts still sweep. */
  intervalMs: number
  log: Logger
  /** What logs call a board (its keyed tag, never its id). */
  tag(roomId: string): string
}

/**
 * The server's periodic board job: trash expiry and retention (`BoardAdmin.sweep`), one
 * sweep at a time, each logged with counts and board tags, and counted.
 *
 * @example
 * const sweeper = new BoardSweeper({ admin, policy, intervalMs: 3_600_000, log, tag: sync.tagRoom })
 * sweeper.start()
 * await sweeper.sweepNow()   // tests
 */
export class BoardSweeper {
  readonly stats: SweepStats = { sweeps: 0, errors: 0, trashed: 0, purged: 0, assetsDeleted: 0 }
  private timer: NodeJS.Timeout | null = null
  private running: Promise<SweepResult | null> | null = null
  private stopped = false

  constructor(private readonly options: BoardSweeperOptions) {}

  start(): void {
    const schedule = (ms: number) => {
      if (this.stopped) return
      this.timer = setTimeout(() => {
        void this.sweepNow().finally(() => schedule(this.options.intervalMs))
      }, ms)
      this.timer.unref()
    }
    schedule(Math.min(this.options.intervalMs, 60_000))
  }

  /** Runs a sweep now (or waits for the one running); null when it failed (logged and counted). */
  sweepNow(): Promise<SweepResult | null> {
    this.running ??= this.sweep().finally(() => (this.running = null))
    return this.running
  }

  private async sweep(): Promise<SweepResult | null> {
    const { admin, policy, log, tag } = this.options
    const started = Date.now()
    try {
      const result = await admin.sweep(policy)
      this.stats.sweeps++
      this.stats.trashed += result.trashed.length
      this.stats.purged += result.purged.length
      this.stats.assetsDeleted += result.assetsDeleted
      const summary = {
        trashed: result.trashed.length,
        purged: result.purged.length,
        busy: result.busy,
        assetsDeleted: result.assetsDeleted,
        ms: Date.now() - started,
      }
      for (const roomId of result.trashed)
        log.info({ room: tag(roomId) }, 'board moved to the trash: nobody opened it for BOARD_RETENTION_DAYS')
      for (const roomId of result.purged) log.info({ room: tag(roomId) }, 'board purged: in the trash longer than BOARD_TRASH_DAYS')
      if (summary.trashed || summary.purged || summary.busy) log.info(summary, 'board sweep')
      else log.debug(summary, 'board sweep: nothing to do')
      return result
    } catch (err) {
      this.stats.errors++
      log.error({ err }, 'the board sweep failed; trying again at the next one')
      return null
    }
  }

  /** No more sweeps; waits for one running. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }
}
