import { pagePath, PREVIEWS_PATH, type BoardLink } from '@/lib/links'

/** Boards this browser has opened, newest first, kept in localStorage. */
export interface RecentBoard {
  /** The room id of an edit link, or the token of a view-only link. */
  id: string
  /** `view` for a board known only by its view-only link. */
  kind: 'room' | 'view'
  title: string
  /** ms since epoch */
  lastOpened: number
  /** The board's preview image (`/api/previews/<view token>`), once one is known. */
  preview?: string
  /** Names of the others seen on the board during the last visit (self-chosen, not identities). */
  people?: string[]
}

const KEY = 'sketchroom:recent-boards'
const MAX = 50
const MAX_PEOPLE = 12
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
  const entry: RecentBoard = { id: b.id, kind: b.kind === 'view' ? 'view' : 'room', title: b.title, lastOpened: b.lastOpened }
  if (typeof b.preview === 'string' && b.preview.startsWith(`${PREVIEWS_PATH}/`)) entry.preview = b.preview
  if (Array.isArray(b.people)) entry.people = b.people.filter((n): n is string => typeof n === 'string').slice(0, MAX_PEOPLE)
  return entry
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
  // A view link names its own preview; an edit page learns the URL when it uploads one.
  const preview = entry.kind === 'view' ? `${PREVIEWS_PATH}/${entry.id}` : previous?.preview
  save([
    { ...previous, ...entry, title: title ?? previous?.title ?? '', lastOpened: Date.now(), ...(preview ? { preview } : {}) },
    ...boards.filter((b) => b.id !== entry.id),
  ])
}

function update(id: string, change: (board: RecentBoard) => RecentBoard | null): void {
  const boards = loadRecentBoards()
  const i = boards.findIndex((b) => b.id === id)
  if (i < 0) return
  const next = change(boards[i]!)
  if (!next) return
  boards[i] = next
  save(boards)
}

/** The preview URL the server gave for a board this browser edits. */
export function setBoardPreview(roomId: string, url: string): void {
  update(roomId, (b) => (b.preview === url ? null : { ...b, preview: url }))
}

/** Who else was on the board during this visit, newest first; kept when the visit ends. */
export function setBoardPeople(id: string, names: string[]): void {
  const people = [...new Set(names.map((n) => n.trim()).filter(Boolean))].slice(0, MAX_PEOPLE)
  update(id, (b) => (JSON.stringify(b.people ?? []) === JSON.stringify(people) ? null : { ...b, people }))
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
