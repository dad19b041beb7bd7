import { pagePath, type BoardLink } from '@/lib/links'

/** Boards this browser has opened, newest first, kept in localStorage. */
export interface RecentBoard {
  /** The room id of an edit link, or the token of a view-only link. */
  id: string
  /** `view` for a board known only by its view-only link. */
  kind: 'room' | 'view'
  title: string
  /** ms since epoch */
  lastOpened: number
}

const KEY = 'sketchroom:recent-boards'
const MAX = 50
export const RECENT_BOARDS_EVENT = 'sketchroom:recent-boards-changed'

/** Where a listed board opens. */
export function recentBoardPath(board: RecentBoard): string {
  return pagePath(board.kind === 'view' ? { kind: 'token', token: board.id, page: 'view' } : { kind: 'room', roomId: board.id })
}

function parse(raw: unknown): RecentBoard | null {
  if (typeof raw !== 'object' || raw === null) return null
  const b = raw as Partial<RecentBoard>
  if (typeof b.id !== 'string' || typeof b.title !== 'string' || typeof b.lastOpened !== 'number') return null
  // Entries from before view-only boards were listed have no kind: they are rooms.
  return { id: b.id, kind: b.kind === 'view' ? 'view' : 'room', title: b.title, lastOpened: b.lastOpened }
}

export function loadRecentBoards(): RecentBoard[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]')
    if (!Array.isArray(parsed)) return []
    return parsed
      .map(parse)
      .filter((b): b is RecentBoard => b !== null)
      .sort((a, b) => b.lastOpened - a.lastOpened)
  } catch {
    // A corrupt entry (another app, a manual edit) should cost the list, not the page.
    return []
  }
}

function save(boards: RecentBoard[]): void {
  localStorage.setItem(KEY, JSON.stringify(boards.slice(0, MAX)))
  window.dispatchEvent(new Event(RECENT_BOARDS_EVENT))
}

/** Records a visit to an edit page (room) or a view page (view token); `title` undefined keeps the one known. */
export function rememberBoard(link: BoardLink, title?: string): void {
  const entry = link.kind === 'room' ? { id: link.roomId, kind: 'room' as const } : { id: link.token, kind: 'view' as const }
  const boards = loadRecentBoards()
  const previous = boards.find((b) => b.id === entry.id)
  save([{ ...entry, title: title ?? previous?.title ?? '', lastOpened: Date.now() }, ...boards.filter((b) => b.id !== entry.id)])
}

/** Takes a board off the list; returns it, for an undo. */
export function forgetBoard(id: string): RecentBoard | null {
  const boards = loadRecentBoards()
  const gone = boards.find((b) => b.id === id) ?? null
  save(boards.filter((b) => b.id !== id))
  return gone
}

/** Puts a removed board back as it was (same place: it keeps its last-opened time). */
export function restoreBoard(board: RecentBoard): void {
  save([board, ...loadRecentBoards().filter((b) => b.id !== board.id)].sort((a, b) => b.lastOpened - a.lastOpened))
}
