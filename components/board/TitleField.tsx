'use client'

import { useEffect, useState } from 'react'
import { MAX_TITLE_LENGTH } from '@/lib/board'
import { useBoard } from './BoardContext'

/** The board title, editable in place; saved on Enter or blur so peers see whole words. */
export function TitleField() {
  const { title, setTitle, readOnly } = useBoard()
  const [draft, setDraft] = useState(title)
  const [editing, setEditing] = useState(false)
  useEffect(() => {
    if (!editing) setDraft(title)
  }, [title, editing])
  const commit = () => {
    setEditing(false)
    const next = draft.trim()
    if (next !== title) setTitle(next)
  }
  if (readOnly) {
    // Not an input at all: a view-only page has nothing to type into.
    return (
      <span className="sr-title sr-title--readonly" data-testid="board-title" title="View only">
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
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') e.currentTarget.blur()
        if (e.key === 'Escape') {
          setDraft(title)
          setEditing(false)
          e.currentTarget.blur()
        }
      }}
    />
  )
}
