'use client'

import './history.css'
import { TldrawUiButton, TldrawUiButtonIcon, TldrawUiButtonLabel, useValue } from 'tldraw'
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
      <TldrawUiButtonIcon icon="rotate-ccw" small />
      <TldrawUiButtonLabel>History</TldrawUiButtonLabel>
    </TldrawUiButton>
  )
}
