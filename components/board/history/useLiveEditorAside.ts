'use client'

import { useEffect } from 'react'
import { useEditor, useValue } from 'tldraw'
import type { HistoryController } from './HistoryController'

/**
 * While a version is shown, the live editor gives up the keyboard, so no shortcut (Delete,
 * undo, select all) typed over the preview can reach the live board; it takes it back on
 * "Back to now" if it had it.
 */
export function useLiveEditorAside(history: HistoryController | null) {
  const editor = useEditor()
  const previewing = useValue('sketchroom history previewing', () => history?.preview.get()?.status === 'ready', [history])
  useEffect(() => {
    if (!previewing || !editor.getIsFocused()) return
    editor.blur()
    return () => {
      editor.focus()
    }
  }, [editor, previewing])
}
