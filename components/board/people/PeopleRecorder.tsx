'use client'

import { useEffect, useRef } from 'react'
import { useEditor, useValue } from 'tldraw'
import { setBoardPeople } from '@/components/home/recentBoards'
import { useBoard } from '../BoardContext'

/**
 * Remembers, for the home page's recent list, who else was on the board during this
 * visit: every name seen in presence, written as they come and again when the page goes.
 * Renders nothing.
 */
export function PeopleRecorder() {
  const editor = useEditor()
  const { link, readOnly } = useBoard()
  // The recent list's key: an edit page's room id, a view page's token (Board.tsx).
  const id = link.kind === 'room' ? link.roomId : readOnly && link.page === 'view' ? link.token : null
  const names = useValue(
    'sketchroom people seen',
    () =>
      editor
        .getCollaborators()
        .map((p) => p.userName?.trim() ?? '')
        .filter(Boolean)
        .sort()
        .join('\n'),
    [editor],
  )
  const seen = useRef<string[]>([])
  useEffect(() => {
    if (!id) return
    const now = names ? names.split('\n') : []
    // Newest first, each name once.
    seen.current = [...now.filter((n) => !seen.current.includes(n)), ...seen.current]
    if (seen.current.length) setBoardPeople(id, seen.current)
  }, [id, names])
  useEffect(() => {
    if (!id) return
    const leave = () => {
      if (seen.current.length) setBoardPeople(id, seen.current)
    }
    window.addEventListener('pagehide', leave)
    return () => {
      window.removeEventListener('pagehide', leave)
      leave()
    }
  }, [id])
  return null
}
