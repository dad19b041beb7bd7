import {
  type BoardCatalog,
  type BoardInfo,
  type BoardLock,
  BoardBusyError,
  type BoardPatch,
  type NewVersion,
  type VersionInfo,
} from './Store'
import { assembleVersion, contentHash, layoutVersion, newVersionId, storedVersionInfo } from './versionLayout'

interface StoredVersion extends VersionInfo {
  hash: string
  base: string | null
  hidden: boolean
  data: Uint8Array
}

/** What a MemoryCatalog keeps; hand the same one to a new store to "reopen". */
export interface MemoryCatalogData {
  boards: Map<string, BoardInfo>
  versions: Map<string, StoredVersion[]>
  /** Boards whose operation lock is held, and by which operation. */
  locks: Map<string, string>
}

export const memoryCatalogData = (): MemoryCatalogData => ({ boards: new Map(), versions: new Map(), locks: new Map() })

/** The board catalog and versions in this process's memory, with the contract's semantics (for tests). */
export class MemoryCatalog implements BoardCatalog {
  constructor(
    private readonly data: MemoryCatalogData,
    /** Deletes the board's update log, for purge. */
    private readonly deleteLog: (roomId: string) => void,
    /** The rooms with a log. */
    private readonly logRooms: () => string[] = () => [],
    /** A room's log entries. */
    private readonly log: (roomId: string) => Uint8Array[] = () => [],
  ) {}

  async logEntries(roomId: string): Promise<Uint8Array[]> {
    return this.log(roomId)
  }

  async versionData(roomId: string): Promise<Uint8Array[]> {
    return (this.data.versions.get(roomId) ?? []).map((v) => v.data)
  }

  async lock(roomId: string, operation: string): Promise<BoardLock> {
    const held = this.data.locks.get(roomId)
    if (held) throw new BoardBusyError(`another operation on this board is running: ${held}; try again when it has finished`)
    this.data.locks.set(roomId, operation)
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        this.data.locks.delete(roomId)
      },
    }
  }

  async storedRooms(): Promise<string[]> {
    return this.logRooms()
  }

  private ensure(roomId: string, at = Date.now()): BoardInfo {
    let board = this.data.boards.get(roomId)
    if (!board) {
      board = { roomId, createdAt: at, changedAt: null, openedAt: null, title: '', shapes: 0, bytes: 0, deletedAt: null, linkGeneration: 0 }
      this.data.boards.set(roomId, board)
    }
    return board
  }

  async board(roomId: string): Promise<BoardInfo | null> {
    const board = this.data.boards.get(roomId)
    return board ? { ...board } : null
  }

  async boardsOf(roomIds: string[]): Promise<BoardInfo[]> {
    return roomIds.flatMap((id) => {
      const board = this.data.boards.get(id)
      return board ? [{ ...board }] : []
    })
  }

  async boards(): Promise<BoardInfo[]> {
    return [...this.data.boards.values()].map((b) => ({ ...b })).sort((a, b) => (b.changedAt ?? b.createdAt) - (a.changedAt ?? a.createdAt))
  }

  async noteBoard(roomId: string, patch: BoardPatch): Promise<void> {
    const board = this.ensure(roomId)
    for (const [key, value] of Object.entries(patch)) if (value !== undefined) Object.assign(board, { [key]: value })
  }

  async setDeleted(roomId: string, at: number | null): Promise<void> {
    this.ensure(roomId).deletedAt = at
  }

  async bumpLinkGeneration(roomId: string): Promise<number> {
    return ++this.ensure(roomId).linkGeneration
  }

  async purge(roomId: string): Promise<void> {
    this.deleteLog(roomId)
    this.data.boards.delete(roomId)
    this.data.versions.delete(roomId)
  }

  async addVersion(roomId: string, version: NewVersion): Promise<VersionInfo | null> {
    this.ensure(roomId, version.createdAt)
    const list = this.data.versions.get(roomId) ?? []
    this.data.versions.set(roomId, list)
    const visible = list.filter((v) => !v.hidden)
    const newest = visible[visible.length - 1]
    const hash = contentHash(version.state)
    if (newest?.hash === hash && version.name === null) return null
    const keyframe = [...list].reverse().find((v) => v.base === null)
    const { data, base } = layoutVersion(version.state, keyframe ? { id: keyframe.id, state: keyframe.data } : null)
    const info = storedVersionInfo(newVersionId(version.createdAt, newest?.id), version, data.length)
    list.push({ ...info, hash, base, hidden: false, data: data.slice() })
    return info
  }

  async versions(roomId: string): Promise<VersionInfo[]> {
    return (this.data.versions.get(roomId) ?? [])
      .filter((v) => !v.hidden)
      .map(({ hash: _h, base: _b, hidden: _x, data: _d, ...info }) => info)
      .reverse()
  }

  async versionState(roomId: string, id: string): Promise<Uint8Array | null> {
    const list = this.data.versions.get(roomId) ?? []
    const version = list.find((v) => v.id === id)
    if (!version) return null
    const base = version.base ? list.find((v) => v.id === version.base) : undefined
    return assembleVersion(version.data, base ? base.data : null)
  }

  async deleteVersions(roomId: string, ids: string[]): Promise<void> {
    const list = this.data.versions.get(roomId)
    if (!list) return
    const newest = list.filter((v) => !v.hidden).at(-1)?.id
    const doomed = new Set(ids.filter((id) => id !== newest))
    const kept = list.filter((v) => !doomed.has(v.id))
    const needed = new Set(kept.map((v) => v.base).filter((b): b is string => b !== null))
    const next = list.filter((v) => !doomed.has(v.id) || needed.has(v.id)).map((v) => (doomed.has(v.id) ? { ...v, hidden: true } : v))
    // Hidden keyframes nobody needs any more go too.
    const stillNeeded = new Set(next.map((v) => v.base).filter((b): b is string => b !== null))
    this.data.versions.set(
      roomId,
      next.filter((v) => !v.hidden || stillNeeded.has(v.id)),
    )
  }
}
