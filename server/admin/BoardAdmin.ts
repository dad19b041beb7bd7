/**
 * Board administration over a Store and the asset directory: listing, export and import,
 * the trash (delete, undelete), purge, and the server's periodic sweep (trash expiry,
 * retention). `npm run boards` runs it in a process of its own beside a running server;
 * the server runs the sweep. Every change of one board takes that board's operation lock
 * (`BoardCatalog.lock`), so two never run at once, whichever process they are in.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { TLRecord } from '@tldraw/tlschema'
import { assetsMentionedIn, sniffImageType } from '../../lib/assets'
import { newRoomId } from '../../lib/roomId'
import type { BoardRules } from '../board/BoardRules'
import { boardToTldr, buildBoard, parseTldr, type TldrFile } from '../board/tldrFile'
import type { BoardInfo, Store, VersionInfo } from '../storage/Store'

/** A refusal with a sentence for the operator (no such board, not in the trash, …). */
export class AdminError extends Error {
  override readonly name = 'AdminError'
}

export interface BoardAdminOptions {
  store: Store
  rules: BoardRules
  /** DATA_DIR/assets: uploaded images, named by the SHA-256 of their bytes. */
  assetsDir: string
  /**
   * How long after a board went to the trash a purge waits, so every running server has
   * noticed (BOARD_CHECK_INTERVAL_MS twice, and the room's unload) and writes nothing more.
   */
  settleMs: number
  /** Files kept for a board outside the store (its preview), deleted when it is purged. */
  boardFiles?: (roomId: string) => string[]
  now?: () => number
}

export interface BoardDetails {
  board: BoardInfo
  versions: VersionInfo[]
  /** The stored log: entries and bytes (0 for a board whose log is gone). */
  log: { entries: number; bytes: number }
}

export interface PurgeResult {
  versions: number
  /** Images only this board used: deleted. */
  assetsDeleted: number
  /** Images other boards (or their versions) use too: kept. */
  assetsKept: number
}

export interface SweepPolicy {
  /** Boards in the trash longer than this are purged. */
  trashMs: number
  /** Boards nobody opened or changed for this long go to the trash; null: never. */
  retentionMs: number | null
  /** Boards open on this server right now are never retired. */
  isOpen(roomId: string): boolean
  /** A board went to the trash: close its connections. */
  deleted(roomId: string): void
}

export interface SweepResult {
  trashed: string[]
  purged: string[]
  /** Boards another operation held the lock of: left for the next sweep. */
  busy: number
  assetsDeleted: number
}

const HASH = /^[0-9a-f]{64}$/

export class BoardAdmin {
  constructor(private readonly options: BoardAdminOptions) {}

  private get store(): Store {
    return this.options.store
  }

  private now(): number {
    return this.options.now?.() ?? Date.now()
  }

  /** Every board, the trash included, newest change first. */
  list(): Promise<BoardInfo[]> {
    return this.store.catalog.boards()
  }

  /** The board's catalog row, or a refusal naming what is wrong. */
  async board(roomId: string): Promise<BoardInfo> {
    let board = await this.store.catalog.board(roomId)
    // Stored, but not noted in the catalog yet (its first version is still to come): noted now.
    if (!board && (await this.store.catalog.logEntries(roomId)).length > 0) {
      await this.store.catalog.noteBoard(roomId, {})
      board = await this.store.catalog.board(roomId)
    }
    if (!board) throw new AdminError('there is no board with that id in this store (check DATA_DIR or DATABASE_URL)')
    return board
  }

  async show(roomId: string): Promise<BoardDetails> {
    const board = await this.board(roomId)
    const [versions, stored] = await Promise.all([this.store.catalog.versions(roomId), this.store.load(roomId)])
    return { board, versions, log: { entries: stored?.entries ?? 0, bytes: stored?.bytes ?? 0 } }
  }

  /** The board's document as stored now, one Yjs update. */
  async state(roomId: string): Promise<Uint8Array> {
    await this.board(roomId)
    const stored = await this.store.load(roomId)
    if (!stored) throw new AdminError('the board has no stored content')
    return stored.update
  }

  /** The board as a `.tldr` file; images of the asset store are embedded as `data:` URLs, as tldraw's own export does. */
  async exportTldr(roomId: string): Promise<{ file: TldrFile; title: string }> {
    const { file, title } = boardToTldr(await this.state(roomId), this.options.rules)
    file.records = file.records.map((record) => {
      if (record.typeName !== 'asset') return record
      const src = (record.props as { src?: unknown }).src
      const hash = typeof src === 'string' ? /^\/api\/assets\/([0-9a-f]{64})$/.exec(src)?.[1] : undefined
      if (!hash) return record
      const bytes = this.readAsset(hash)
      const type = bytes ? sniffImageType(bytes.subarray(0, 16)) : null
      if (!bytes || !type) return record
      return { ...record, props: { ...record.props, src: `data:${type};base64,${bytes.toString('base64')}` } } as TLRecord
    })
    return { file, title }
  }

  /**
   * A new board from a `.tldr` file's text: records migrated and judged by the board rules
   * (any violation refuses the file, nothing is stored); embedded images become uploads.
   * Returns the new board's id.
   */
  async importTldr(text: string, title: string): Promise<{ roomId: string; shapes: number; dropped: number; images: number }> {
    const parsed = parseTldr(text, this.options.rules)
    if (!parsed.ok) throw new AdminError(`the file was not imported: ${parsed.problem}`)
    const images: Array<{ hash: string; bytes: Buffer }> = []
    const records = parsed.records.map((record) => {
      if (record.typeName !== 'asset') return record
      const src = (record.props as { src?: unknown }).src
      const match = typeof src === 'string' ? /^data:([a-z/+.-]+);base64,([A-Za-z0-9+/=]+)$/.exec(src) : null
      if (!match) return record
      const bytes = Buffer.from(match[2]!, 'base64')
      // Only what an upload would take is stored; anything else stays as it was, for the rules to judge.
      if (!sniffImageType(bytes.subarray(0, 16))) return record
      const hash = createHash('sha256').update(bytes).digest('hex')
      images.push({ hash, bytes })
      return { ...record, props: { ...record.props, src: `/api/assets/${hash}` } } as TLRecord
    })
    const built = buildBoard(records, title, this.options.rules)
    if (!built.ok) {
      const shown = built.problems.slice(0, 5).join('; ')
      const more = built.problems.length > 5 ? ` (and ${built.problems.length - 5} more)` : ''
      throw new AdminError(`the file was not imported: the board rules refuse it: ${shown}${more}`)
    }
    for (const { hash, bytes } of images) this.writeAsset(hash, bytes)
    const roomId = newRoomId()
    await this.store.append(roomId, built.update)
    await this.store.catalog.noteBoard(roomId, { title, shapes: built.shapes, bytes: built.update.length, changedAt: this.now() })
    return { roomId, shapes: built.shapes, dropped: parsed.dropped, images: new Set(images.map((i) => i.hash)).size }
  }

  /** Moves the board to the trash. */
  async delete(roomId: string): Promise<BoardInfo> {
    return this.locked(roomId, 'delete', async () => {
      const board = await this.board(roomId)
      if (board.deletedAt !== null)
        throw new AdminError(`the board is in the trash already (since ${new Date(board.deletedAt).toISOString()})`)
      const at = this.now()
      await this.store.catalog.setDeleted(roomId, at)
      return { ...board, deletedAt: at }
    })
  }

  /** Takes the board out of the trash. */
  async undelete(roomId: string): Promise<BoardInfo> {
    return this.locked(roomId, 'undelete', async () => {
      const board = await this.board(roomId)
      if (board.deletedAt === null) throw new AdminError('the board is not in the trash')
      await this.store.catalog.setDeleted(roomId, null)
      return { ...board, deletedAt: null }
    })
  }

  /**
   * Deletes a board in the trash for good: its log, its versions, its catalog row, and the
   * images no other board uses (in its content or any of its versions, the trash
   * included). A board that went to the trash less than `settleMs` ago is waited for
   * (`onWait` is told how long), holding the lock, so no running server still writes it.
   */
  async purge(roomId: string, onWait?: (ms: number) => void): Promise<PurgeResult> {
    return this.locked(roomId, 'purge', async () => {
      const board = await this.board(roomId)
      if (board.deletedAt === null) throw new AdminError('the board is not in the trash: delete it first (npm run boards -- delete <id>)')
      const wait = board.deletedAt + this.options.settleMs - this.now()
      if (wait > 0) {
        onWait?.(wait)
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
      return this.purgeNow(roomId, await this.assetUsers())
    })
  }

  /**
   * The server's periodic job: boards nobody opened or changed for `retentionMs` go to the
   * trash, and boards in the trash longer than `trashMs` are purged. Never fails as a
   * whole for one board: a board another operation holds is left for the next sweep.
   */
  async sweep(policy: SweepPolicy): Promise<SweepResult> {
    const result: SweepResult = { trashed: [], purged: [], busy: 0, assetsDeleted: 0 }
    const now = this.now()
    const boards = await this.list()
    if (policy.retentionMs !== null) {
      for (const b of boards) {
        if (b.deletedAt !== null || policy.isOpen(b.roomId)) continue
        const lastUsed = Math.max(b.createdAt, b.changedAt ?? 0, b.openedAt ?? 0)
        if (lastUsed > now - policy.retentionMs) continue
        const done = await this.trySweepStep(b.roomId, 'retention', async () => {
          const fresh = await this.store.catalog.board(b.roomId)
          if (!fresh || fresh.deletedAt !== null || Math.max(fresh.createdAt, fresh.changedAt ?? 0, fresh.openedAt ?? 0) !== lastUsed)
            return false
          await this.store.catalog.setDeleted(b.roomId, now)
          return true
        })
        if (done === 'busy') result.busy++
        else if (done) {
          result.trashed.push(b.roomId)
          policy.deleted(b.roomId)
        }
      }
    }
    // A board just moved to the trash stays at least `settleMs`, whatever BOARD_TRASH_DAYS says.
    const cutoff = now - Math.max(policy.trashMs, this.options.settleMs)
    const expired = boards.filter((b) => b.deletedAt !== null && b.deletedAt <= cutoff)
    if (expired.length === 0) return result
    const users = await this.assetUsers()
    for (const b of expired) {
      const done = await this.trySweepStep(b.roomId, 'trash expiry', async () => {
        const fresh = await this.store.catalog.board(b.roomId)
        if (!fresh || fresh.deletedAt === null || fresh.deletedAt > cutoff) return false
        result.assetsDeleted += (await this.purgeNow(b.roomId, users)).assetsDeleted
        return true
      })
      if (done === 'busy') result.busy++
      else if (done) result.purged.push(b.roomId)
    }
    return result
  }

  private async trySweepStep(roomId: string, operation: string, step: () => Promise<boolean>): Promise<boolean | 'busy'> {
    let lock
    try {
      lock = await this.store.catalog.lock(roomId, `the server's sweep (${operation})`)
    } catch (err) {
      if (err instanceof Error && err.name === 'BoardBusyError') return 'busy'
      throw err
    }
    try {
      return await step()
    } finally {
      await lock.release()
    }
  }

  private async locked<T>(roomId: string, operation: string, work: () => Promise<T>): Promise<T> {
    const lock = await this.store.catalog.lock(roomId, `npm run boards -- ${operation} (process ${process.pid})`)
    try {
      return await work()
    } finally {
      await lock.release()
    }
  }

  /**
   * Which rooms name each asset, in their stored log or any version, read from the bytes as
   * stored (a version is a keyframe or a diff against one: between them, all of it). An
   * image named by something deleted since still counts: the scan errs on keeping.
   */
  private async assetUsers(): Promise<Map<string, Set<string>>> {
    const users = new Map<string, Set<string>>()
    const note = (roomId: string, bytes: Uint8Array) => {
      for (const hash of assetsMentionedIn(bytes)) {
        let rooms = users.get(hash)
        if (!rooms) users.set(hash, (rooms = new Set()))
        rooms.add(roomId)
      }
    }
    const rooms = new Set([...(await this.store.catalog.storedRooms()), ...(await this.list()).map((b) => b.roomId)])
    for (const roomId of rooms) {
      // Raw bytes, one board at a time: in the server, SQLite's reads hold the event loop.
      await new Promise((resolve) => setImmediate(resolve))
      for (const entry of await this.store.catalog.logEntries(roomId)) note(roomId, entry)
      for (const data of await this.store.catalog.versionData(roomId)) note(roomId, data)
    }
    return users
  }

  private async purgeNow(roomId: string, users: Map<string, Set<string>>): Promise<PurgeResult> {
    const versions = (await this.store.catalog.versions(roomId)).length
    await this.store.catalog.purge(roomId)
    for (const file of this.options.boardFiles?.(roomId) ?? []) fs.rmSync(file, { force: true })
    let assetsDeleted = 0
    let assetsKept = 0
    for (const [hash, rooms] of users) {
      if (!rooms.delete(roomId)) continue
      if (rooms.size > 0) {
        assetsKept++
        continue
      }
      users.delete(hash)
      if (this.deleteAsset(hash)) assetsDeleted++
    }
    return { versions, assetsDeleted, assetsKept }
  }

  private assetPath(hash: string): string {
    if (!HASH.test(hash)) throw new Error('not an asset hash')
    return path.join(this.options.assetsDir, hash)
  }

  private readAsset(hash: string): Buffer | null {
    try {
      return fs.readFileSync(this.assetPath(hash))
    } catch {
      return null
    }
  }

  /** Written like an upload: to a temporary name, then renamed into place whole. */
  private writeAsset(hash: string, bytes: Buffer): void {
    const file = this.assetPath(hash)
    if (fs.existsSync(file)) return
    const tmpDir = path.join(this.options.assetsDir, 'tmp')
    fs.mkdirSync(tmpDir, { recursive: true })
    const tmp = path.join(tmpDir, `import-${process.pid}-${hash}`)
    fs.writeFileSync(tmp, bytes)
    fs.renameSync(tmp, file)
  }

  private deleteAsset(hash: string): boolean {
    try {
      fs.unlinkSync(this.assetPath(hash))
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }
}
