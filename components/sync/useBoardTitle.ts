'use client'

import { useCallback, useEffect, useState } from 'react'
import type * as Y from 'yjs'
import { MAX_TITLE_LENGTH } from '@/lib/board'
import { META_KEY, TITLE_KEY } from './bindStore'

/**
 * The board's title, stored in the Y.Doc so every peer sees the same one.
 *
 * @example
 * const [title, setTitle] = useBoardTitle(doc, state.write)
 */
export function useBoardTitle(doc: Y.Doc | null, write: ((change: () => void) => void) | null): [string, (title: string) => void] {
  const [title, setTitleState] = useState('')
  useEffect(() => {
    if (!doc) return
    const meta = doc.getMap<unknown>(META_KEY)
    const read = () => {
      const value = meta.get(TITLE_KEY)
      setTitleState(typeof value === 'string' ? value : '')
    }
    read()
    meta.observe(read)
    return () => meta.unobserve(read)
  }, [doc])
  const setTitle = useCallback(
    (next: string) => {
      if (!doc || !write) return
      // The server refuses a longer title; the tab and the recent list have no room for one anyway.
      // Through `write`: on a new board the title comes with its first records.
      write(() => doc.getMap<unknown>(META_KEY).set(TITLE_KEY, next.slice(0, MAX_TITLE_LENGTH)))
    },
    [doc, write],
  )
  return [title, setTitle]
}
