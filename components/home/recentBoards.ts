/** Boards this browser has opened, newest first, kept in localStorage. */
export interface RecentBoard {
  id: string
  title: string
  /** ms since epoch */
  lastOpened: number
}

const KEY = 'sketchroom:recent-boards'
const MAX = 50
export const RECENT_BOARDS_EVENT = 'sketchroom:recent-boards-changed'

export function loadRecentBoards(): RecentBoard[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]')
    if (!Array.isArray(parsed)) return []
    return parsed
      .filter(
        (b): b is RecentBoard =>
          typeof b === 'object' &&
          b !== null &&
          typeof b.id === 'string' &&
          typeof b.title === 'string' &&
          typeof b.lastOpened === 'number',
      )
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

/** Records a visit; `title` undefined keeps the title already known. */
export function rememberBoard(id: string, title?: string): void {
  const boards = loadRecentBoards()
  const previous = boards.find((b) => b.id === id)
  save([{ id, title: title ?? previous?.title ?? '', lastOpened: Date.now() }, ...boards.filter((b) => b.id !== id)])
}

export function forgetBoard(id: string): void {
  save(loadRecentBoards().filter((b) => b.id !== id))
}
