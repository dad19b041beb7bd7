'use client'

import { useRouter } from 'next/navigation'
import { useEffect, useMemo, useRef, useState } from 'react'
import { newRoomId } from '@/lib/roomId'
import { BoardCard, boardLabel } from './BoardCard'
import { BOARD_FILE_ACCEPT, handOffImport, readBoardFile } from './boardImport'
import { markCreatedHere } from './createdHere'
import { forgetBoard, loadRecentBoards, RECENT_BOARDS_EVENT, restoreBoard, type RecentBoard } from './recentBoards'

/** How long "Undo" stays offered after a Remove. */
const UNDO_MS = 10_000
/** How often "5 minutes ago" is brought up to date. */
const CLOCK_MS = 30_000

/**
 * The home page, a place to work: New board, Open a file (a `.tldr` becomes a new board),
 * and the boards this browser opened as cards (preview, title, when, with whom), searchable
 * by title.
 */
export default function Home() {
  const router = useRouter()
  // null until mounted: localStorage is not there during server rendering.
  const [recent, setRecent] = useState<RecentBoard[] | null>(null)
  const [removed, setRemoved] = useState<RecentBoard | null>(null)
  const [query, setQuery] = useState('')
  const [now, setNow] = useState(() => Date.now())
  const undoTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(() => {
    const refresh = () => {
      setRecent(loadRecentBoards())
      setNow(Date.now())
    }
    refresh()
    const clock = setInterval(() => setNow(Date.now()), CLOCK_MS)
    window.addEventListener(RECENT_BOARDS_EVENT, refresh)
    window.addEventListener('storage', refresh)
    return () => {
      clearInterval(clock)
      window.removeEventListener(RECENT_BOARDS_EVENT, refresh)
      window.removeEventListener('storage', refresh)
      if (undoTimer.current) clearTimeout(undoTimer.current)
    }
  }, [])

  const remove = (board: RecentBoard) => {
    const gone = forgetBoard(board.id)
    setRemoved(gone)
    if (undoTimer.current) clearTimeout(undoTimer.current)
    undoTimer.current = setTimeout(() => setRemoved(null), UNDO_MS)
  }
  const undo = () => {
    if (removed) restoreBoard(removed)
    setRemoved(null)
  }
  const create = () => {
    const id = newRoomId()
    markCreatedHere(id)
    router.push(`/b/${id}`)
  }
  const [opening, setOpening] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null })
  const [dragging, setDragging] = useState(false)
  const fileInput = useRef<HTMLInputElement>(null)
  /** A `.tldr` file becomes a new board: a new room id, its records written by the board page. */
  const open = async (file: File | undefined) => {
    if (!file) return
    setOpening({ busy: true, error: null })
    const board = await readBoardFile(file).catch(() => 'This file could not be read.')
    if (typeof board === 'string') return setOpening({ busy: false, error: board })
    const id = newRoomId()
    markCreatedHere(id)
    handOffImport(id, board)
    router.push(`/b/${id}`)
  }

  const shown = useMemo(() => {
    const words = query.trim().toLocaleLowerCase().split(/\s+/).filter(Boolean)
    if (!recent || !words.length) return recent
    return recent.filter((board) => {
      const label = boardLabel(board).toLocaleLowerCase()
      return words.every((word) => label.includes(word))
    })
  }, [recent, query])

  return (
    <main
      className="sr-page sr-home"
      data-dragging={dragging ? 'true' : undefined}
      onDragOver={(event) => {
        if (!event.dataTransfer.types.includes('Files')) return
        event.preventDefault()
        setDragging(true)
      }}
      onDragLeave={(event) => {
        if (event.currentTarget === event.target) setDragging(false)
      }}
      onDrop={(event) => {
        event.preventDefault()
        setDragging(false)
        void open(event.dataTransfer.files[0])
      }}
    >
      <header className="sr-home__intro">
        <h1>sketchroom</h1>
        <p>A live collaborative whiteboard you can host yourself. Anyone with a board&apos;s link can draw on it with you.</p>
        <div className="sr-home__actions">
          <button type="button" className="sr-new-board" data-testid="new-board" onClick={create}>
            New board
          </button>
          <button
            type="button"
            className="sr-open-file"
            data-testid="open-file"
            disabled={opening.busy}
            onClick={() => fileInput.current?.click()}
          >
            {opening.busy ? 'Opening…' : 'Open a file'}
          </button>
        </div>
        <input
          ref={fileInput}
          type="file"
          accept={BOARD_FILE_ACCEPT}
          hidden
          data-testid="open-file-input"
          onChange={(event) => {
            void open(event.target.files?.[0])
            event.target.value = ''
          }}
        />
        <p className="sr-hint">
          <small>Open a tldraw file (.tldr), or drop one on this page, to make a new board from it.</small>
        </p>
        {opening.error ? (
          <p className="sr-error" role="alert" data-testid="open-file-error">
            {opening.error}
          </p>
        ) : null}
      </header>
      {removed ? (
        <p className="sr-undo" role="status" data-testid="recent-undo">
          Removed “{boardLabel(removed)}” from this list.{' '}
          <button type="button" onClick={undo} data-testid="recent-undo-button">
            Undo
          </button>
        </p>
      ) : null}
      {recent && recent.length > 0 && shown ? (
        <section aria-labelledby="recent-heading">
          <div className="sr-home__bar">
            <h2 id="recent-heading">Recent boards</h2>
            <input
              type="search"
              className="sr-search"
              placeholder="Search by title"
              aria-label="Search recent boards by title"
              data-testid="recent-search"
              value={query}
              onChange={(event) => setQuery(event.target.value)}
            />
          </div>
          {shown.length ? (
            <ul className="sr-recent" data-testid="recent-boards">
              {shown.map((board) => (
                <BoardCard key={board.id} board={board} now={now} onRemove={() => remove(board)} />
              ))}
            </ul>
          ) : (
            <p className="sr-hint" data-testid="recent-none">
              No recent board has “{query.trim()}” in its title.
            </p>
          )}
          <p className="sr-hint">
            <small>This list lives in this browser only. Removing a board here does not delete it.</small>
          </p>
        </section>
      ) : null}
    </main>
  )
}
