'use client'

import { useEffect, useRef, useState } from 'react'
import { MAX_TITLE_LENGTH } from '@/lib/board'
import { useBoard } from './BoardContext'

/** The board title, editable in place; saved on Enter or blur so peers see whole words, dropped on Escape. */
export function TitleField() {
  const { title, setTitle, readOnly } = useBoard()
  const [draft, setDraft] = useState(title)
  const [editing, setEditing] = useState(false)
  // Escape blurs the field too (tldraw blurs on Escape before the field hears the key),
  // and blur saves: the save waits a turn, so the Escape that follows can cancel it.
  const cancelled = useRef(false)
  useEffect(() => {
    if (!editing) setDraft(title)
  }, [title, editing])
  const commit = () => {
    setEditing(false)
    if (cancelled.current) {
      cancelled.current = false
      setDraft(title)
      return
    }
    const next = draft.trim()
    if (next !== title) setTitle(next)
  }
  if (readOnly) {
    // Not an input at all: a view-only page has nothing to type into.
    return (
      <span className="sr-title sr-title--readonly" data-testid="board-title">
        {title || 'Untitled board'}
      </span>
    )
  }
  return (
    <input
      className="sr-title"
      data-testid="board-title"
      aria-label="Board title"
      placeholder="Untitled board"
      maxLength={MAX_TITLE_LENGTH}
      value={draft}
      onFocus={() => setEditing(true)}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={() => setTimeout(commit, 0)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') e.currentTarget.blur()
        if (e.key === 'Escape') {
          cancelled.current = true
          e.currentTarget.blur()
        }
      }}
    />
  )
}
