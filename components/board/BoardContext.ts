'use client'

import { createContext, useContext } from 'react'
import type * as Y from 'yjs'
import type { Connection } from '@/components/sync/useYjsStore'

/** What the panels inside the tldraw UI need to know about the board around them. */
export interface BoardContextValue {
  roomId: string
  doc: Y.Doc
  connection: Connection
  title: string
  setTitle(title: string): void
  /** Set by a component inside the tldraw UI, where toasts are available. */
  notifyRef: { current: ((message: string) => void) | null }
}

export const BoardContext = createContext<BoardContextValue | null>(null)

export function useBoard(): BoardContextValue {
  const value = useContext(BoardContext)
  if (!value) throw new Error('useBoard must be used inside <Board>')
  return value
}
