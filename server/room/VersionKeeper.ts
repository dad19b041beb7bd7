import type { Logger } from 'pino'
import type { BoardCatalog, VersionInfo, VersionReason } from '../storage/Store'
import { type RetentionPolicy, versionsToDrop } from './retention'

export interface VersionPolicy extends RetentionPolicy {
  /** A version once the board has changed and then been quiet this long (VERSION_AFTER_QUIET_MS). */
  afterQuietMs: number
  /** And at least this often while people keep editing (VERSION_EVERY_MS). */
  everyMs: number
}

/** What a version is taken of: the board as stored now. */
export interface BoardSnapshot {
  state: Uint8Array
  shapes: number
  title: string
}

export interface VersionKeeperOptions {
  roomId: string
  catalog: BoardCatalog
  policy: VersionPolicy
  log: Logger
  /** The board now, or null when it holds changes not stored yet (a version waits for them). */
  snapshot(): BoardSnapshot | null
  now?: () => number
}

/**
 * Takes a board's versions: after a quiet spell that followed changes, at least every
 * `everyMs` while changes keep coming, and when asked (the last person left, a restore, a
 * name). It keeps the self-chosen names of the people who edited since the previous one,
 * applies retention after each, and notes the board in the catalog.
 *
 * One timer per board at most, and a change costs a timestamp: it sits on every update.
 *
 * @example
 * keeper.changed('Ada')            // an update from Ada was applied
 * await keeper.take('named', 'Kick-off')
 */
export class VersionKeeper {
  private dirtySince: number | null = null
  private lastChangeAt = 0
  private readonly editors = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  private taking: Promise<VersionInfo | null> = Promise.resolve(null)
  private stopped = false

  constructor(private readonly options: VersionKeeperOptions) {}

  private now(): number {
    return this.options.now?.() ?? Date.now()
  }

  /** Whether the board has changed since its last version. */
  get dirty(): boolean {
    return this.dirtySince !== null
  }

  /** A local change was applied; `editor` is its author's self-chosen name, if known. */
  changed(editor: string | null): void {
    const now = this.now()
    this.lastChangeAt = now
    if (editor) this.editors.add(editor)
    if (this.dirtySince === null) {
      this.dirtySince = now
      this.arm(now + this.options.policy.afterQuietMs)
    }
  }

  private arm(at: number): void {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.due(), Math.max(0, at - this.now()))
    this.timer.unref()
  }

  /** The timer fired: quiet long enough, or editing long enough? Else wait for whichever comes first. */
  private due(): void {
    this.timer = null
    if (this.dirtySince === null) return
    const { afterQuietMs, everyMs } = this.options.policy
    const now = this.now()
    const quietAt = this.lastChangeAt + afterQuietMs
    const periodicAt = this.dirtySince + everyMs
    if (now >= quietAt || now >= periodicAt) {
      void this.take(now >= quietAt ? 'quiet' : 'periodic')
      return
    }
    this.arm(Math.min(quietAt, periodicAt))
  }

  /**
   * Takes a version now (after any in progress). For `quiet`, `periodic` and `left` only
   * if the board changed since the last one; a board with changes not stored yet is tried
   * again shortly. Resolves with the version, or null when none was taken.
   */
  take(reason: VersionReason, name: string | null = null): Promise<VersionInfo | null> {
    this.taking = this.taking.then(() => this.takeNow(reason, name))
    return this.taking
  }

  private async takeNow(reason: VersionReason, name: string | null): Promise<VersionInfo | null> {
    const automatic = reason === 'quiet' || reason === 'periodic' || reason === 'left'
    if (automatic && this.dirtySince === null) return null
    const snapshot = this.options.snapshot()
    if (!snapshot) {
      if (automatic) this.arm(this.now() + 1000)
      return null
    }
    const { catalog, roomId, log, policy } = this.options
    const editors = [...this.editors]
    const dirtySince = this.dirtySince
    const createdAt = this.now()
    try {
      const version = await catalog.addVersion(roomId, { createdAt, reason, name, shapes: snapshot.shapes, editors, state: snapshot.state })
      // What was written meanwhile belongs to the next version.
      if (this.dirtySince === dirtySince) this.dirtySince = null
      for (const editor of editors) if (this.lastChangeAt <= createdAt) this.editors.delete(editor)
      if (this.dirtySince !== null) this.arm(this.lastChangeAt + policy.afterQuietMs)
      await catalog.noteBoard(roomId, {
        title: snapshot.title,
        shapes: snapshot.shapes,
        bytes: snapshot.state.length,
        changedAt: this.lastChangeAt || createdAt,
      })
      if (version) {
        const doomed = versionsToDrop(await catalog.versions(roomId), createdAt, policy)
        if (doomed.length > 0) await catalog.deleteVersions(roomId, doomed)
      }
      return version
    } catch (err) {
      log.error({ err, reason }, 'could not take a version of the board; trying again later')
      if (automatic) this.arm(this.now() + policy.afterQuietMs)
      if (!automatic) throw err
      return null
    }
  }

  /** The room closes: no more timers (a last version is the caller's to ask for). */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.taking.catch(() => undefined)
  }
}
