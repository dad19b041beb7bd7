'use client'

import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useRef, useState } from 'react'
import { newRoomId } from '@/lib/roomId'
import { BOARD_FILE_ACCEPT, handOffImport, readBoardFile } from './boardImport'
import { markCreatedHere } from './createdHere'
import { forgetBoard, loadRecentBoards, RECENT_BOARDS_EVENT, recentBoardPath, restoreBoard, type RecentBoard } from './recentBoards'

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
/** How long "Undo" stays offered after a Remove. */
const UNDO_MS = 10_000

/** What a listed board is called: its title, else words, never its id (which is a key). */
export function boardLabel(board: RecentBoard): string {
  return board.title.trim() || (board.kind === 'view' ? 'Untitled view-only board' : 'Untitled board')
}

export default function Home() {
  const router = useRouter()
  // null until mounted: localStorage is not there during server rendering.
  const [recent, setRecent] = useState<RecentBoard[] | null>(null)
  const [removed, setRemoved] = useState<RecentBoard | null>(null)
  const undoTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(() => {
    const refresh = () => setRecent(loadRecentBoards())
    refresh()
    window.addEventListener(RECENT_BOARDS_EVENT, refresh)
    window.addEventListener('storage', refresh)
    return () => {
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

  return (
    <main
      className="sr-page"
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
      <h1>sketchroom</h1>
      <p>A live collaborative whiteboard you can host yourself. Anyone with a board&apos;s link can draw on it with you.</p>
      <button type="button" className="sr-new-board" data-testid="new-board" onClick={create}>
        New board
      </button>{' '}
      <button
        type="button"
        className="sr-open-file"
        data-testid="open-file"
        disabled={opening.busy}
        onClick={() => fileInput.current?.click()}
      >
        {opening.busy ? 'Opening…' : 'Open a file'}
      </button>
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
      {removed ? (
        <p className="sr-undo" role="status" data-testid="recent-undo">
          Removed “{boardLabel(removed)}” from this list.{' '}
          <button type="button" onClick={undo} data-testid="recent-undo-button">
            Undo
          </button>
        </p>
      ) : null}
      {recent && recent.length > 0 ? (
        <section>
          <h2>Recent boards</h2>
          <ul className="sr-recent" data-testid="recent-boards">
            {recent.map((board) => (
              <li key={board.id} data-kind={board.kind}>
                <Link href={recentBoardPath(board)} className={board.title.trim() ? undefined : 'sr-recent__untitled'}>
                  {boardLabel(board)}
                </Link>
                {board.kind === 'view' ? <span className="sr-badge">View only</span> : null}
                <time dateTime={new Date(board.lastOpened).toISOString()}>{dateFormat.format(board.lastOpened)}</time>
                <button type="button" aria-label={`Remove ${boardLabel(board)} from this list`} onClick={() => remove(board)}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <p>
            <small>This list lives in this browser only. Removing a board here does not delete it.</small>
          </p>
        </section>
      ) : null}
    </main>
  )
}
