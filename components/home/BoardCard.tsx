'use client'

import Link from 'next/link'
import { useState } from 'react'
import { recentBoardPath, type RecentBoard } from './recentBoards'

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

/** What a listed board is called: its title, else words, never its id (which is a key). */
export function boardLabel(board: RecentBoard): string {
  return board.title.trim() || (board.kind === 'view' ? 'Untitled view-only board' : 'Untitled board')
}

/** "just now", "5 minutes ago", "yesterday", then the date. */
export function openedAgo(at: number, now: number): string {
  const seconds = Math.round((at - now) / 1000)
  if (seconds > -45) return 'just now'
  const minutes = Math.round(seconds / 60)
  if (minutes > -60) return relative.format(minutes, 'minute')
  const hours = Math.round(minutes / 60)
  if (hours > -24) return relative.format(hours, 'hour')
  const days = Math.round(hours / 24)
  if (days > -7) return relative.format(days, 'day')
  return dateFormat.format(at)
}

/** "Ada", "Ada and Grace", "Ada, Grace and 3 others". */
export function withPeople(names: string[]): string {
  if (names.length === 0) return ''
  if (names.length === 1) return names[0]!
  if (names.length === 2) return `${names[0]} and ${names[1]}`
  const rest = names.length - 2
  return `${names[0]}, ${names[1]} and ${rest} other${rest === 1 ? '' : 's'}`
}

/** One recent board: its picture, title, when you last opened it and who else was there. */
export function BoardCard({ board, now, onRemove }: { board: RecentBoard; now: number; onRemove(): void }) {
  const label = boardLabel(board)
  // A preview that does not load (none yet, or its link was reset) shows the placeholder.
  const [broken, setBroken] = useState<string | null>(null)
  const preview = board.preview && broken !== board.preview ? board.preview : null
  return (
    <li className="sr-card" data-kind={board.kind}>
      <Link href={recentBoardPath(board)} className="sr-card__link">
        <span className="sr-card__title" data-untitled={board.title.trim() ? undefined : 'true'}>
          {label}
        </span>
        {preview ? (
          <img
            className="sr-card__preview"
            src={preview}
            alt=""
            loading="lazy"
            data-testid="card-preview"
            onError={() => setBroken(preview)}
          />
        ) : (
          <span className="sr-card__preview sr-card__preview--none" aria-hidden>
            No preview yet
          </span>
        )}
      </Link>
      <div className="sr-card__meta">
        {board.kind === 'view' ? <span className="sr-badge">View only</span> : null}
        <span>
          Opened{' '}
          <time dateTime={new Date(board.lastOpened).toISOString()} title={dateFormat.format(board.lastOpened)}>
            {openedAgo(board.lastOpened, now)}
          </time>
        </span>
        {board.people?.length ? (
          <span className="sr-card__people" data-testid="card-people">
            with {withPeople(board.people)}
          </span>
        ) : null}
      </div>
      <button type="button" className="sr-card__remove" aria-label={`Remove ${label} from this list`} onClick={onRemove}>
        Remove
      </button>
    </li>
  )
}
