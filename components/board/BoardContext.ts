'use client'

import { createContext, useContext } from 'react'
import type * as Y from 'yjs'
import type { AssetLimits } from '@/components/sync/assetStore'
import type { ConnectionState, SavingState } from '@/components/sync/connectBoard'
import type { BoardLink } from '@/lib/links'
import type { BoardEvent } from '@/lib/protocol'
import type { HistoryController } from './history/HistoryController'

/** What the panels inside the tldraw UI need to know about the board around them. */
export interface BoardContextValue {
  /** How this page reached the board: its room id, or a token that hides it. */
  link: BoardLink
  /** No edits from this page: a view-only link, or an embed with `readonly=1`. */
  readOnly: boolean
  /** When the link stops working (ms since epoch), for expiring links. */
  expiresAt: number | null
  doc: Y.Doc
  connection: ConnectionState
  saving: SavingState
  /** The server's image limits, as the editor was given them. */
  imageLimits: AssetLimits
  /** Nobody has drawn on this board yet (the doc holds nothing). */
  empty: boolean
  /** This browser made the board just now (New board): no "check the link" hint then. */
  createdHere: boolean
  title: string
  setTitle(title: string): void
  /** Set by a component inside the tldraw UI, where toasts are available. */
  notifyRef: { current: ((message: string) => void) | null }
  /** Hears what the server says happened to the board (a restore); set inside the tldraw UI, like `notifyRef`. */
  boardEventRef: { current: ((event: BoardEvent) => void) | null }
  /** The board's history, on pages that may edit it (not view-only links, not embeds). */
  history: HistoryController | null
}

export const BoardContext = createContext<BoardContextValue | null>(null)

export function useBoard(): BoardContextValue {
  const value = useContext(BoardContext)
  if (!value) throw new Error('useBoard must be used inside <Board>')
  return value
}
