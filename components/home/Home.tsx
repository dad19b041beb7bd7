'use client'

import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useState } from 'react'
import { newRoomId } from '@/lib/roomId'
import { forgetBoard, loadRecentBoards, RECENT_BOARDS_EVENT, type RecentBoard } from './recentBoards'

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

export default function Home() {
  const router = useRouter()
  // null until mounted: localStorage is not there during server rendering.
  const [recent, setRecent] = useState<RecentBoard[] | null>(null)
  useEffect(() => {
    const refresh = () => setRecent(loadRecentBoards())
    refresh()
    window.addEventListener(RECENT_BOARDS_EVENT, refresh)
    window.addEventListener('storage', refresh)
    return () => {
      window.removeEventListener(RECENT_BOARDS_EVENT, refresh)
      window.removeEventListener('storage', refresh)
    }
  }, [])

  return (
    <main className="sr-page">
      <h1>sketchroom</h1>
      <p>A live collaborative whiteboard you can host yourself. Anyone with a board&apos;s link can draw on it with you.</p>
      <button type="button" className="sr-new-board" data-testid="new-board" onClick={() => router.push(`/b/${newRoomId()}`)}>
        New board
      </button>
      {recent && recent.length > 0 ? (
        <section>
          <h2>Recent boards</h2>
          <ul className="sr-recent" data-testid="recent-boards">
            {recent.map((board) => (
              <li key={board.id}>
                <Link href={`/b/${board.id}`}>{board.title || board.id}</Link>
                <time dateTime={new Date(board.lastOpened).toISOString()}>{dateFormat.format(board.lastOpened)}</time>
                <button type="button" aria-label={`Remove ${board.title || board.id} from this list`} onClick={() => forgetBoard(board.id)}>
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
