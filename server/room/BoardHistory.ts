import type { Logger } from 'pino'
import { YKeyValue } from 'y-utility/y-keyvalue'
import type * as Y from 'yjs'
import { TITLE_KEY } from '../../lib/board'
import { readBoard } from '../board/readBoard'
import { HistoryError, SyncError } from '../errors'
import type { BoardCatalog, VersionInfo } from '../storage/Store'
import { type BoardSnapshot, type VersionPolicy, VersionKeeper } from './VersionKeeper'

/** What the history needs of its room. */
export interface HistoryHost {
  /** The board as stored now, or null while changes wait to be stored. */
  snapshot(): BoardSnapshot | null
  /** Stores and sends what is queued. */
  settle(): Promise<void>
  /**
   * Applies `change` to the live board (its records, as the room's own YKeyValue, and its
   * meta) as the server's own change: checked by the board rules, stored, sent to everyone.
   */
  applyLocal(change: (records: YKeyValue<unknown>, meta: Y.Map<unknown>) => void): void
}

export interface BoardHistoryOptions {
  roomId: string
  catalog: BoardCatalog
  policy: VersionPolicy
  log: Logger
  host: HistoryHost
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * A board's history: its versions (taken by the VersionKeeper) and restoring one.
 *
 * A restore takes a "before restore" version, then applies the difference (records put
 * and deleted, and the title) as one ordinary change through the board rules: everyone
 * connected sees it live, offline clients merge it like any other change, and restoring
 * the "before restore" version undoes it.
 *
 * @example
 * const { before, restored } = await history.restore(versionId)
 */
export class BoardHistory {
  private readonly keeper: VersionKeeper

  constructor(private readonly options: BoardHistoryOptions) {
    this.keeper = new VersionKeeper({
      roomId: options.roomId,
      catalog: options.catalog,
      policy: options.policy,
      log: options.log,
      snapshot: () => options.host.snapshot(),
    })
  }

  /** A local change was applied, by someone with this self-chosen name. */
  changed(editor: string | null): void {
    this.keeper.changed(editor)
  }

  /** A named version of the board as it is now. */
  async name(name: string): Promise<VersionInfo> {
    await this.options.host.settle()
    const version = await this.keeper.take('named', name)
    if (!version) throw new SyncError('storeFailed', 'the board has changes that are not stored yet; try again shortly')
    return version
  }

  /**
   * Makes the board that version for everyone. Returns the "before restore" version (the
   * newest one, when nothing changed since it) and the version taken after the restore.
   */
  async restore(versionId: string): Promise<{ before: VersionInfo | null; restored: VersionInfo | null; target: VersionInfo }> {
    const { catalog, roomId, host } = this.options
    const target = (await catalog.versions(roomId)).find((v) => v.id === versionId)
    const state = target ? await catalog.versionState(roomId, versionId) : null
    if (!target || !state) throw new HistoryError('no such version of this board')
    await host.settle()
    const before = (await this.keeper.take('before-restore')) ?? (await catalog.versions(roomId))[0] ?? null
    const { records: wanted, title } = readBoard(state)
    host.applyLocal((kv, meta) => {
      for (const [key, value] of wanted) if (!same(kv.get(key), value)) kv.set(key, value)
      for (const key of [...kv.map.keys()]) if (!wanted.has(key)) kv.delete(key)
      if (meta.get(TITLE_KEY) !== title && (title || meta.has(TITLE_KEY))) meta.set(TITLE_KEY, title)
    })
    await host.settle()
    this.keeper.changed(null)
    const restored = await this.keeper.take('restored')
    return { before, restored, target }
  }

  /** The room closes without a last version (its board is in the trash). */
  async stop(): Promise<void> {
    await this.keeper.stop()
  }

  /** The room closes: a last version if it changed since the previous one. */
  async finish(): Promise<void> {
    await this.keeper.take('left').catch(() => undefined)
    await this.keeper.stop()
  }
}
