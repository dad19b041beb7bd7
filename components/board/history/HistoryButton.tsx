'use client'

import './history.css'
import { TldrawUiButton, TldrawUiButtonLabel, useValue } from 'tldraw'
import type { HistoryController } from './HistoryController'

/** Opens and closes the History panel; only on pages that may edit (the API refuses view links). */
export function HistoryButton({ history }: { history: HistoryController }) {
  const open = useValue('sketchroom history open', () => history.open.get(), [history])
  return (
    <TldrawUiButton
      type="normal"
      className="sr-history-button"
      data-testid="history"
      aria-expanded={open}
      aria-controls="sr-history-panel"
      aria-label="History"
      title="Earlier versions of this board: preview and restore them"
      onClick={() => history.toggle()}
    >
      {/* A phone shows the icon alone (history.css), so the top bar keeps its room. */}
      <svg className="sr-history-button__icon" viewBox="0 0 20 20" width="18" height="18" aria-hidden focusable="false">
        <path d="M3.5 10a6.5 6.5 0 1 0 1.9-4.6" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
        <path d="M5.2 2.6v3.2h3.2" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
        <path d="M10 6.5V10l2.5 1.8" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
      <TldrawUiButtonLabel>History</TldrawUiButtonLabel>
    </TldrawUiButton>
  )
}
